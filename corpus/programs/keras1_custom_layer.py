# Style: Keras 1.2 custom layers ("Writing your own Keras layers", 1.x docs, and blog posts of 2016).
# Exercises: get_output_shape_for, call(self, x, mask=None), add_weight with Keras 1 positional order
# (shape, initializer), K.variable plus self.trainable_weights assignment, K.dot/K.exp/K.sum/K.cast,
# Keras 1 arguments (output_dim=, init=, nb_epoch=). Runs under Keras 1.2 and 2.0-2.2 (legacy support).
import numpy as np
from keras import backend as K
from keras.engine.topology import Layer
from keras.layers import Dense, Dropout
from keras.models import Sequential


class MyLayer(Layer):
    def __init__(self, output_dim, **kwargs):
        self.output_dim = output_dim
        super(MyLayer, self).__init__(**kwargs)

    def build(self, input_shape):
        input_dim = input_shape[1]
        self.W = self.add_weight((input_dim, self.output_dim), 'uniform', name='{}_W'.format(self.name))
        super(MyLayer, self).build(input_shape)

    def call(self, x, mask=None):
        return K.dot(x, self.W)

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.output_dim)


class SoftmaxGate(Layer):
    """Gates each feature by a softmax over a learned score vector (Keras 1 variable style)."""

    def build(self, input_shape):
        initial = np.random.uniform(-0.05, 0.05, size=(input_shape[1],))
        self.score = K.variable(initial, name='{}_score'.format(self.name))
        self.trainable_weights = [self.score]

    def call(self, x, mask=None):
        weights = K.exp(self.score) / K.sum(K.exp(self.score))
        if mask is not None:
            x = x * K.cast(mask, K.floatx())
        return x * weights

    def get_output_shape_for(self, input_shape):
        return input_shape


model = Sequential()
model.add(Dense(output_dim=32, input_dim=16, init='uniform', activation='relu'))
model.add(MyLayer(24))
model.add(SoftmaxGate())
model.add(Dropout(p=0.25))
model.add(Dense(output_dim=1, activation='sigmoid'))
model.compile(loss='binary_crossentropy', optimizer='rmsprop', metrics=['accuracy'])

if __name__ == '__main__':
    X = np.random.random((500, 16))
    y = (X.sum(axis=1) > 8).astype('float32')
    model.fit(X, y, batch_size=50, nb_epoch=2, verbose=2)
    print(model.evaluate(X, y, verbose=0))
