# Style: Keras 2 Functional text and sequence models from blog posts (2017-2018) that do small
# tensor work in Lambda layers. Exercises: Lambda with K.mean, K.max, K.concatenate, K.batch_flatten,
# K.permute_dimensions, K.expand_dims, K.sum, K.sqrt, K.square; output_shape functions; K.int_shape.
import numpy as np
from keras import backend as K
from keras.layers import Conv1D, Dense, Embedding, Input, Lambda
from keras.models import Model

maxlen, vocab, embed_dim = 40, 1000, 32


def mean_over_time(x):
    return K.mean(x, axis=1)


def max_over_time(x):
    return K.max(x, axis=1)


def pooled_shape(input_shape):
    return (input_shape[0], input_shape[2])


def swap_time_and_channels(x):
    return K.permute_dimensions(x, (0, 2, 1))


def l2_norm_features(x):
    return x / K.sqrt(K.sum(K.square(x), axis=-1, keepdims=True) + K.epsilon())


tokens = Input(shape=(maxlen,), dtype='int32', name='tokens')
embedded = Embedding(vocab, embed_dim, input_length=maxlen)(tokens)
conv = Conv1D(64, 3, padding='same', activation='relu')(embedded)

mean_pool = Lambda(mean_over_time, output_shape=pooled_shape, name='mean_pool')(conv)
max_pool = Lambda(max_over_time, output_shape=pooled_shape, name='max_pool')(conv)
pooled = Lambda(lambda t: K.concatenate(t, axis=-1), name='concat_pools')([mean_pool, max_pool])

channels_first = Lambda(swap_time_and_channels, name='channels_first')(conv)
channel_energy = Lambda(lambda t: K.mean(t, axis=-1), name='energy')(channels_first)
peak = Lambda(lambda t: K.expand_dims(K.max(K.batch_flatten(t), axis=-1), -1), name='peak')(conv)

features = Lambda(lambda t: K.concatenate([t[0], t[1], t[2]]), name='features')([pooled, channel_energy, peak])
features = Lambda(l2_norm_features, name='l2_norm')(features)
hidden = Dense(64, activation='relu')(features)
output = Dense(1, activation='sigmoid')(hidden)

model = Model(inputs=tokens, outputs=output)
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
print('feature width:', K.int_shape(features)[-1])

if __name__ == '__main__':
    x = np.random.randint(1, vocab, size=(200, maxlen))
    y = np.random.randint(0, 2, size=(200, 1))
    model.fit(x, y, batch_size=32, epochs=1, verbose=2)
