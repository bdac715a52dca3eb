# Style: Keras 2 Kaggle segmentation kernels (2017-2019) with hand-written losses and metrics.
# Exercises: custom losses and metrics built from K ops (K.flatten, K.sum, K.mean, K.square, K.sqrt,
# K.pow, K.log, K.clip, K.epsilon, K.round, K.cast, K.floatx), passed to compile by function.
import numpy as np
from keras import backend as K
from keras.layers import Conv2D, Input, MaxPooling2D, UpSampling2D, concatenate
from keras.models import Model
from keras.optimizers import Adam

SMOOTH = 1.0


def dice_coef(y_true, y_pred):
    y_true_f = K.flatten(y_true)
    y_pred_f = K.flatten(y_pred)
    intersection = K.sum(y_true_f * y_pred_f)
    return (2.0 * intersection + SMOOTH) / (K.sum(y_true_f) + K.sum(y_pred_f) + SMOOTH)


def dice_loss(y_true, y_pred):
    return 1.0 - dice_coef(y_true, y_pred)


def binary_focal_loss(gamma=2.0, alpha=0.25):
    def focal(y_true, y_pred):
        y_pred = K.clip(y_pred, K.epsilon(), 1.0 - K.epsilon())
        p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
        alpha_t = y_true * alpha + (1 - y_true) * (1 - alpha)
        return K.mean(-alpha_t * K.pow(1.0 - p_t, gamma) * K.log(p_t), axis=-1)
    return focal


def combined_loss(y_true, y_pred):
    return binary_focal_loss()(y_true, y_pred) + dice_loss(y_true, y_pred)


def rmse(y_true, y_pred):
    return K.sqrt(K.mean(K.square(y_pred - y_true)))


def pixel_precision(y_true, y_pred):
    predicted = K.cast(K.round(K.clip(y_pred, 0, 1)), K.floatx())
    true_positives = K.sum(predicted * y_true)
    return true_positives / (K.sum(predicted) + K.epsilon())


def small_unet(size=32):
    inputs = Input((size, size, 1))
    c1 = Conv2D(8, (3, 3), activation='relu', padding='same')(inputs)
    p1 = MaxPooling2D((2, 2))(c1)
    c2 = Conv2D(16, (3, 3), activation='relu', padding='same')(p1)
    p2 = MaxPooling2D((2, 2))(c2)
    c3 = Conv2D(32, (3, 3), activation='relu', padding='same')(p2)
    u2 = concatenate([UpSampling2D((2, 2))(c3), c2], axis=3)
    c4 = Conv2D(16, (3, 3), activation='relu', padding='same')(u2)
    u1 = concatenate([UpSampling2D((2, 2))(c4), c1], axis=3)
    c5 = Conv2D(8, (3, 3), activation='relu', padding='same')(u1)
    outputs = Conv2D(1, (1, 1), activation='sigmoid')(c5)
    return Model(inputs=[inputs], outputs=[outputs])


model = small_unet()
model.compile(optimizer=Adam(lr=1e-3), loss=combined_loss, metrics=[dice_coef, rmse, pixel_precision])

if __name__ == '__main__':
    images = np.random.random((16, 32, 32, 1)).astype('float32')
    masks = (np.random.random((16, 32, 32, 1)) > 0.7).astype('float32')
    model.fit(images, masks, batch_size=4, epochs=1, verbose=2)
