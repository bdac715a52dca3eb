# Style: Keras 2 Kaggle image-retrieval kernels (2018-2019): generalised-mean pooling with a learned
# exponent and a training-only noise layer. Exercises: add_weight with keyword arguments and a
# Constant initializer, K.pow, K.maximum, K.mean over axes, K.random_normal, K.in_train_phase,
# K.shape, get_config, a Functional CNN using the custom layers.
import numpy as np
from keras import backend as K
from keras.initializers import Constant
from keras.layers import Conv2D, Dense, Input, Layer
from keras.models import Model


class GeneralizedMeanPooling2D(Layer):
    def __init__(self, p=3.0, eps=1e-6, **kwargs):
        super(GeneralizedMeanPooling2D, self).__init__(**kwargs)
        self.init_p = p
        self.eps = eps

    def build(self, input_shape):
        self.p = self.add_weight(name='p', shape=(1,), initializer=Constant(self.init_p), trainable=True)
        super(GeneralizedMeanPooling2D, self).build(input_shape)

    def call(self, inputs):
        x = K.pow(K.maximum(inputs, self.eps), self.p)
        x = K.mean(x, axis=[1, 2])
        return K.pow(x, 1.0 / self.p)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[3])

    def get_config(self):
        config = {'p': self.init_p, 'eps': self.eps}
        base_config = super(GeneralizedMeanPooling2D, self).get_config()
        return dict(list(base_config.items()) + list(config.items()))


class TrainingNoise(Layer):
    """Gaussian noise in training only, written with the backend as before GaussianNoise existed."""

    def __init__(self, stddev, **kwargs):
        super(TrainingNoise, self).__init__(**kwargs)
        self.stddev = stddev

    def call(self, inputs, training=None):
        def noised():
            return inputs + K.random_normal(shape=K.shape(inputs), mean=0., stddev=self.stddev)
        return K.in_train_phase(noised, inputs, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape


inputs = Input(shape=(32, 32, 3))
x = TrainingNoise(0.05)(inputs)
x = Conv2D(16, (3, 3), activation='relu')(x)
x = Conv2D(32, (3, 3), activation='relu')(x)
x = GeneralizedMeanPooling2D(name='gem')(x)
outputs = Dense(8, activation='softmax')(x)
model = Model(inputs, outputs)
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])

if __name__ == '__main__':
    images = np.random.random((32, 32, 32, 3)).astype('float32')
    labels = np.eye(8)[np.random.randint(0, 8, size=32)]
    model.fit(images, labels, batch_size=8, epochs=1, verbose=2)
    print('learned p:', K.get_value(model.get_layer('gem').p))
