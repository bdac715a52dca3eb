# Style: the Keras 2 example mnist_siamese.py (shared base network, Euclidean distance, contrastive
# loss). Exercises: a distance Lambda with K.sqrt/K.maximum/K.sum/K.square/K.epsilon and an
# output_shape function, a contrastive loss with K.mean/K.square/K.maximum, an accuracy metric with
# K.mean/K.equal/K.cast, the same Sequential-free base network applied to two inputs.
import numpy as np
from keras import backend as K
from keras.layers import Dense, Dropout, Flatten, Input, Lambda
from keras.models import Model
from keras.optimizers import RMSprop

input_shape = (28, 28)


def euclidean_distance(vects):
    x, y = vects
    sum_square = K.sum(K.square(x - y), axis=1, keepdims=True)
    return K.sqrt(K.maximum(sum_square, K.epsilon()))


def eucl_dist_output_shape(shapes):
    shape1, shape2 = shapes
    return (shape1[0], 1)


def contrastive_loss(y_true, y_pred):
    margin = 1
    square_pred = K.square(y_pred)
    margin_square = K.square(K.maximum(margin - y_pred, 0))
    return K.mean(y_true * square_pred + (1 - y_true) * margin_square)


def accuracy(y_true, y_pred):
    return K.mean(K.equal(y_true, K.cast(y_pred < 0.5, y_true.dtype)))


def create_base_network(input_shape):
    input = Input(shape=input_shape)
    x = Flatten()(input)
    x = Dense(64, activation='relu')(x)
    x = Dropout(0.1)(x)
    x = Dense(64, activation='relu')(x)
    return Model(input, x)


base_network = create_base_network(input_shape)
input_a = Input(shape=input_shape)
input_b = Input(shape=input_shape)
processed_a = base_network(input_a)
processed_b = base_network(input_b)
distance = Lambda(euclidean_distance, output_shape=eucl_dist_output_shape)([processed_a, processed_b])

model = Model([input_a, input_b], distance)
model.compile(loss=contrastive_loss, optimizer=RMSprop(), metrics=[accuracy])

if __name__ == '__main__':
    pairs = np.random.random((2, 128) + input_shape).astype('float32')
    labels = np.random.randint(0, 2, size=(128, 1)).astype('float32')
    model.fit([pairs[0], pairs[1]], labels, batch_size=32, epochs=1, verbose=2)
    print(model.predict([pairs[0][:4], pairs[1][:4]]).ravel())
