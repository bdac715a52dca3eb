# Style: the Keras 2.2 example variational_autoencoder.py (MLP encoder/decoder on flattened images).
# Exercises: a sampling function in a Lambda layer (K.random_normal, K.shape, K.int_shape, K.exp),
# a loss built from K ops on model tensors (K.sum, K.square, K.exp, K.mean) added with vae.add_loss,
# nested encoder/decoder models called inside a third model.
import numpy as np
from keras import backend as K
from keras.layers import Dense, Input, Lambda
from keras.losses import binary_crossentropy
from keras.models import Model

original_dim = 784
intermediate_dim = 128
latent_dim = 2


def sampling(args):
    """Reparameterization trick: z = z_mean + sigma * epsilon."""
    z_mean, z_log_var = args
    batch = K.shape(z_mean)[0]
    dim = K.int_shape(z_mean)[1]
    epsilon = K.random_normal(shape=(batch, dim))
    return z_mean + K.exp(0.5 * z_log_var) * epsilon


inputs = Input(shape=(original_dim,), name='encoder_input')
x = Dense(intermediate_dim, activation='relu')(inputs)
z_mean = Dense(latent_dim, name='z_mean')(x)
z_log_var = Dense(latent_dim, name='z_log_var')(x)
z = Lambda(sampling, output_shape=(latent_dim,), name='z')([z_mean, z_log_var])
encoder = Model(inputs, [z_mean, z_log_var, z], name='encoder')

latent_inputs = Input(shape=(latent_dim,), name='z_sampling')
x = Dense(intermediate_dim, activation='relu')(latent_inputs)
outputs = Dense(original_dim, activation='sigmoid')(x)
decoder = Model(latent_inputs, outputs, name='decoder')

outputs = decoder(encoder(inputs)[2])
vae = Model(inputs, outputs, name='vae_mlp')

reconstruction_loss = binary_crossentropy(inputs, outputs) * original_dim
kl_loss = 1 + z_log_var - K.square(z_mean) - K.exp(z_log_var)
kl_loss = K.sum(kl_loss, axis=-1) * -0.5
vae_loss = K.mean(reconstruction_loss + kl_loss)
vae.add_loss(vae_loss)
vae.compile(optimizer='adam')

if __name__ == '__main__':
    x_train = np.random.random((256, original_dim)).astype('float32')
    vae.fit(x_train, epochs=1, batch_size=32, verbose=2)
    z_points = encoder.predict(x_train[:8])[0]
    print('latent means:', z_points.shape)
    print('decoded:', decoder.predict(z_points).shape)
