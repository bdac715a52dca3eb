# Style: Keras 1.x programs with custom weight initialisation: the mnist_irnn.py example (identity
# recurrent init) and the 1.x docs' "custom initialization" recipe. Exercises: keras.initializations
# (normal, identity, get), init= and inner_init= functions taking (shape, name), Dense(output_dim=,
# init=), SimpleRNN, nb_epoch=, np_utils.to_categorical.
import numpy as np
from keras import initializations
from keras.initializations import identity, normal
from keras.layers import Activation, Dense, SimpleRNN
from keras.models import Sequential
from keras.optimizers import RMSprop
from keras.utils import np_utils

nb_classes = 10
hidden_units = 50
learning_rate = 1e-6


def my_init(shape, name=None):
    return initializations.normal(shape, scale=0.01, name=name)


def irnn_input_init(shape, name=None):
    return normal(shape, scale=0.001, name=name)


def irnn_inner_init(shape, name=None):
    return identity(shape, scale=1.0, name=name)


glorot = initializations.get('glorot_uniform')

X_train = np.random.random((100, 28, 28)).astype('float32')
y_train = np.random.randint(0, nb_classes, size=(100,))
Y_train = np_utils.to_categorical(y_train, nb_classes)

model = Sequential()
model.add(SimpleRNN(output_dim=hidden_units, init=irnn_input_init, inner_init=irnn_inner_init,
                    activation='relu', input_shape=X_train.shape[1:]))
model.add(Dense(64, init=my_init))
model.add(Activation('relu'))
model.add(Dense(nb_classes, init=glorot))
model.add(Activation('softmax'))
model.compile(loss='categorical_crossentropy', optimizer=RMSprop(lr=learning_rate), metrics=['accuracy'])

if __name__ == '__main__':
    model.fit(X_train, Y_train, batch_size=32, nb_epoch=1, verbose=1)
    scores = model.evaluate(X_train, Y_train, verbose=0)
    print('IRNN test accuracy:', scores[1])
