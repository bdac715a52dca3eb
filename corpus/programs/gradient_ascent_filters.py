# Style: the Keras 2.2 example conv_filter_visualization.py and "How convolutional neural networks
# see the world" (graph-mode TensorFlow backend). Exercises: K.gradients, K.function([input], [loss,
# grads]) driving a NumPy gradient-ascent loop, K.mean of a layer output slice, gradient normalisation
# with K.sqrt/K.mean/K.square/K.epsilon, K.image_data_format, model.get_layer(...).output.
import numpy as np
from keras import backend as K
from keras.layers import Conv2D, Dense, GlobalAveragePooling2D, Input, MaxPooling2D
from keras.models import Model

img_width = img_height = 48
layer_name = 'block2_conv1'

inputs = Input(shape=(img_width, img_height, 3), name='image')
x = Conv2D(16, (3, 3), activation='relu', padding='same', name='block1_conv1')(inputs)
x = MaxPooling2D((2, 2), name='block1_pool')(x)
x = Conv2D(32, (3, 3), activation='relu', padding='same', name='block2_conv1')(x)
x = GlobalAveragePooling2D()(x)
predictions = Dense(5, activation='softmax')(x)
model = Model(inputs, predictions)
model.compile(optimizer='sgd', loss='categorical_crossentropy')

input_img = model.input
layer_dict = dict([(layer.name, layer) for layer in model.layers[1:]])


def normalize(x):
    return x / (K.sqrt(K.mean(K.square(x))) + K.epsilon())


def deprocess_image(x):
    x -= x.mean()
    x /= (x.std() + K.epsilon())
    x *= 0.1
    x += 0.5
    x = np.clip(x, 0, 1) * 255
    return np.clip(x, 0, 255).astype('uint8')


def visualize_filter(filter_index, steps=20, step=1.0):
    layer_output = layer_dict[layer_name].output
    if K.image_data_format() == 'channels_first':
        loss = K.mean(layer_output[:, filter_index, :, :])
    else:
        loss = K.mean(layer_output[:, :, :, filter_index])
    grads = normalize(K.gradients(loss, input_img)[0])
    iterate = K.function([input_img], [loss, grads])
    input_img_data = np.random.random((1, img_width, img_height, 3)) * 20 + 128.
    for _ in range(steps):
        loss_value, grads_value = iterate([input_img_data])
        input_img_data += grads_value * step
    return deprocess_image(input_img_data[0]), loss_value


if __name__ == '__main__':
    kept = []
    for filter_index in range(4):
        image, loss_value = visualize_filter(filter_index)
        print('filter %d: loss %.4f' % (filter_index, loss_value))
        kept.append(image)
    print(np.stack(kept).shape)
