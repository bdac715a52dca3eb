# Style: the Keras 2.0 attention layer for text classification that circulated in Kaggle kernels
# (2017-2018), on a bidirectional LSTM. Exercises: keras.engine.topology.Layer, initializers/regularizers
# .get, add_weight with Keras 2.0 positional shape first, masking (supports_masking, compute_mask,
# K.cast of the mask), K.reshape, K.dot, K.tanh, K.exp, K.sum, K.epsilon, K.floatx, K.expand_dims.
import numpy as np
from keras import backend as K
from keras import constraints, initializers, regularizers
from keras.engine.topology import Layer
from keras.layers import LSTM, Bidirectional, Dense, Dropout, Embedding, Input
from keras.models import Model


class Attention(Layer):
    def __init__(self, step_dim, W_regularizer=None, b_regularizer=None,
                 W_constraint=None, b_constraint=None, bias=True, **kwargs):
        self.supports_masking = True
        self.init = initializers.get('glorot_uniform')
        self.W_regularizer = regularizers.get(W_regularizer)
        self.b_regularizer = regularizers.get(b_regularizer)
        self.W_constraint = constraints.get(W_constraint)
        self.b_constraint = constraints.get(b_constraint)
        self.bias = bias
        self.step_dim = step_dim
        self.features_dim = 0
        super(Attention, self).__init__(**kwargs)

    def build(self, input_shape):
        assert len(input_shape) == 3
        self.W = self.add_weight((input_shape[-1],), initializer=self.init, name='{}_W'.format(self.name),
                                 regularizer=self.W_regularizer, constraint=self.W_constraint)
        self.features_dim = input_shape[-1]
        if self.bias:
            self.b = self.add_weight((input_shape[1],), initializer='zero', name='{}_b'.format(self.name),
                                     regularizer=self.b_regularizer, constraint=self.b_constraint)
        else:
            self.b = None
        self.built = True

    def compute_mask(self, input, input_mask=None):
        return None

    def call(self, x, mask=None):
        features_dim = self.features_dim
        step_dim = self.step_dim
        eij = K.reshape(K.dot(K.reshape(x, (-1, features_dim)), K.reshape(self.W, (features_dim, 1))), (-1, step_dim))
        if self.bias:
            eij += self.b
        eij = K.tanh(eij)
        a = K.exp(eij)
        if mask is not None:
            a *= K.cast(mask, K.floatx())
        a /= K.cast(K.sum(a, axis=1, keepdims=True) + K.epsilon(), K.floatx())
        a = K.expand_dims(a)
        weighted_input = x * a
        return K.sum(weighted_input, axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape[0], self.features_dim


maxlen, max_features, embed_size = 50, 2000, 64

inp = Input(shape=(maxlen,))
x = Embedding(max_features, embed_size, mask_zero=True)(inp)
x = Bidirectional(LSTM(32, return_sequences=True))(x)
x = Attention(maxlen)(x)
x = Dense(32, activation='relu')(x)
x = Dropout(0.1)(x)
out = Dense(6, activation='sigmoid')(x)
model = Model(inputs=inp, outputs=out)
model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])

if __name__ == '__main__':
    X = np.random.randint(1, max_features, size=(128, maxlen))
    X[:, 40:] = 0
    Y = np.random.randint(0, 2, size=(128, 6))
    model.fit(X, Y, batch_size=32, epochs=1, verbose=2)
