# Style: the Keras 2.1-2.2 guide "Writing your own Keras layers" and the custom layers that copied it.
# Exercises: a Layer subclass using the backend in build/call/compute_output_shape (K.dot, K.bias_add,
# K.l2_normalize, K.int_shape), add_weight with positional name and shape, a Sequential model.
import numpy as np
from keras import backend as K
from keras.layers import Activation, Dense, Layer
from keras.models import Sequential
from keras.optimizers import Adam


class MyDense(Layer):
    """A dense layer written by hand, as the guide does it."""

    def __init__(self, units, **kwargs):
        self.units = units
        super(MyDense, self).__init__(**kwargs)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        # Keras 2.1+ order: add_weight(name, shape, dtype, initializer, ...)
        self.kernel = self.add_weight('kernel', (input_dim, self.units), initializer='glorot_uniform', trainable=True)
        self.bias = self.add_weight('bias', (self.units,), initializer='zeros', trainable=True)
        super(MyDense, self).build(input_shape)

    def call(self, inputs):
        output = K.dot(inputs, self.kernel)
        return K.bias_add(output, self.bias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)


class L2Normalize(Layer):
    """Scales each sample to unit length, with a learned temperature."""

    def __init__(self, axis=-1, **kwargs):
        self.axis = axis
        super(L2Normalize, self).__init__(**kwargs)

    def build(self, input_shape):
        self.scale = self.add_weight('scale', (1,), initializer='ones')
        super(L2Normalize, self).build(input_shape)

    def call(self, inputs):
        return K.l2_normalize(inputs, axis=self.axis) * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape


def build_model(input_dim, num_classes):
    model = Sequential()
    model.add(MyDense(64, input_shape=(input_dim,)))
    model.add(Activation('relu'))
    model.add(L2Normalize())
    model.add(Dense(num_classes, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer=Adam(lr=0.001), metrics=['accuracy'])
    return model


model = build_model(20, 4)
print('output shape of the first layer:', K.int_shape(model.layers[0].output))

if __name__ == '__main__':
    x = np.random.random((256, 20))
    y = np.eye(4)[np.random.randint(0, 4, size=256)]
    model.fit(x, y, batch_size=32, epochs=2, verbose=2)
    model.summary()
