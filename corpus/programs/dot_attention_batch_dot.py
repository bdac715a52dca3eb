# Style: Keras 2 seq2seq-with-attention blog posts (Luong dot attention, 2017-2019) and sentence-pair
# similarity models. Exercises: K.batch_dot with axes in Lambda layers, K.softmax, K.concatenate,
# K.l2_normalize for cosine similarity, K.sum, K.repeat_elements, K.stack, a two-input Functional model.
import numpy as np
from keras import backend as K
from keras.layers import LSTM, Dense, Embedding, Input, Lambda, TimeDistributed
from keras.models import Model

src_len, tgt_len, vocab, units = 12, 10, 500, 32

encoder_inputs = Input(shape=(src_len,), name='source')
decoder_inputs = Input(shape=(tgt_len,), name='target_in')
embedding = Embedding(vocab, 32)
encoder = LSTM(units, return_sequences=True)(embedding(encoder_inputs))
decoder = LSTM(units, return_sequences=True)(embedding(decoder_inputs))

# scores[b, t, s] = decoder[b, t] . encoder[b, s]
scores = Lambda(lambda t: K.batch_dot(t[0], t[1], axes=[2, 2]), name='scores')([decoder, encoder])
attention = Lambda(lambda s: K.softmax(s), name='attention')(scores)
context = Lambda(lambda t: K.batch_dot(t[0], t[1], axes=[2, 1]), name='context')([attention, encoder])
combined = Lambda(lambda t: K.concatenate([t[0], t[1]]), name='combine')([context, decoder])
hidden = TimeDistributed(Dense(units, activation='tanh'))(combined)
outputs = TimeDistributed(Dense(vocab, activation='softmax'))(hidden)
translator = Model([encoder_inputs, decoder_inputs], outputs)
translator.compile(optimizer='adam', loss='sparse_categorical_crossentropy')


def cosine_similarity(vectors):
    a, b = vectors
    a = K.l2_normalize(a, axis=-1)
    b = K.l2_normalize(b, axis=-1)
    return K.sum(a * b, axis=-1, keepdims=True)


def attention_pool(t):
    weights = K.softmax(K.sum(t, axis=-1))
    weights = K.repeat_elements(K.expand_dims(weights), units, axis=-1)
    return K.sum(t * weights, axis=1)


left = Input(shape=(src_len,), name='left')
right = Input(shape=(src_len,), name='right')
shared_lstm = LSTM(units, return_sequences=True)
left_vec = Lambda(attention_pool, name='pool_left')(shared_lstm(embedding(left)))
right_vec = Lambda(attention_pool, name='pool_right')(shared_lstm(embedding(right)))
similarity = Lambda(cosine_similarity, name='cosine')([left_vec, right_vec])
stacked = Lambda(lambda t: K.stack(t, axis=1), name='stack')([left_vec, right_vec])
matcher = Model([left, right], [similarity, stacked])
matcher.compile(optimizer='adam', loss=['mse', None])

if __name__ == '__main__':
    src = np.random.randint(1, vocab, size=(64, src_len))
    tgt = np.random.randint(1, vocab, size=(64, tgt_len))
    translator.fit([src, tgt], tgt[..., None], batch_size=16, epochs=1, verbose=2)
    print(matcher.predict([src[:4], src[4:8]])[0].ravel())
