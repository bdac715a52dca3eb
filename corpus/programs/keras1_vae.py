# Style: the Keras 1.2 example variational_autoencoder.py (2016), as copied into many notebooks.
# Exercises: K.random_normal with Keras 1's std= argument, a Lambda with output_shape, a loss that
# closes over model tensors (keras.objectives, K.mean/K.square/K.exp), Model(input=, output=),
# Dense(output_dim), fit(nb_epoch=).
import numpy as np
from keras import backend as K
from keras import objectives
from keras.layers import Dense, Input, Lambda
from keras.models import Model

batch_size = 100
original_dim = 784
latent_dim = 2
intermediate_dim = 256
nb_epoch = 1
epsilon_std = 1.0

x = Input(batch_shape=(batch_size, original_dim))
h = Dense(intermediate_dim, activation='relu')(x)
z_mean = Dense(latent_dim)(h)
z_log_var = Dense(latent_dim)(h)


def sampling(args):
    z_mean, z_log_var = args
    epsilon = K.random_normal(shape=(batch_size, latent_dim), mean=0., std=epsilon_std)
    return z_mean + K.exp(z_log_var / 2) * epsilon


z = Lambda(sampling, output_shape=(latent_dim,))([z_mean, z_log_var])

decoder_h = Dense(intermediate_dim, activation='relu')
decoder_mean = Dense(output_dim=original_dim, activation='sigmoid')
h_decoded = decoder_h(z)
x_decoded_mean = decoder_mean(h_decoded)


def vae_loss(x, x_decoded_mean):
    xent_loss = original_dim * objectives.binary_crossentropy(x, x_decoded_mean)
    kl_loss = - 0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
    return xent_loss + kl_loss


vae = Model(input=x, output=x_decoded_mean)
vae.compile(optimizer='rmsprop', loss=vae_loss)

encoder = Model(input=x, output=z_mean)

if __name__ == '__main__':
    x_train = np.random.random((1000, original_dim)).astype('float32')
    x_test = np.random.random((200, original_dim)).astype('float32')
    vae.fit(x_train, x_train, shuffle=True, nb_epoch=nb_epoch, batch_size=batch_size,
            validation_data=(x_test, x_test))
    x_test_encoded = encoder.predict(x_test, batch_size=batch_size)
    print(x_test_encoded.shape)
