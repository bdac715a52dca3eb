# Style: the Keras 2 FAQ "How can I obtain the output of an intermediate layer?" and the blog posts
# that print every layer's activations. Exercises: K.function([model.input], [layer.output]) as a
# feature extractor, K.function with K.learning_phase(), one function per layer in a loop, K.int_shape.
import numpy as np
from keras import backend as K
from keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from keras.models import Sequential

num_classes = 10

model = Sequential()
model.add(Conv2D(16, kernel_size=(3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Conv2D(32, (3, 3), activation='relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(64, activation='relu', name='features'))
model.add(Dropout(0.5))
model.add(Dense(num_classes, activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer='adadelta', metrics=['accuracy'])

# the FAQ's two forms: without and with the learning phase
get_3rd_layer_output = K.function([model.layers[0].input], [model.layers[3].output])
get_features = K.function([model.input, K.learning_phase()], [model.get_layer('features').output])

# one function per layer, to inspect every activation
inp = model.input
outputs = [layer.output for layer in model.layers]
functors = [K.function([inp, K.learning_phase()], [out]) for out in outputs]


def extract_features(images):
    """Penultimate-layer features in test mode (learning phase 0)."""
    return get_features([images, 0])[0]


if __name__ == '__main__':
    x = np.random.random((64, 28, 28, 1)).astype('float32')
    y = np.eye(num_classes)[np.random.randint(0, num_classes, size=64)]
    model.fit(x, y, batch_size=16, epochs=1, verbose=2)
    print('3rd layer output:', get_3rd_layer_output([x[:4]])[0].shape)
    print('features:', extract_features(x[:4]).shape)
    for layer, func in zip(model.layers, functors):
        print(layer.name, K.int_shape(layer.output), func([x[:2], 0])[0].shape)
