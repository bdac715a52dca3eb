# Style: Keras 2 learning-rate schedule and logging callbacks from blog posts (2017-2019): warm-up,
# step decay, an LR finder. Exercises: K.get_value(self.model.optimizer.lr), K.set_value(...),
# K.eval(model.optimizer.lr), optimizer lr= and decay= arguments, Callback subclasses, fit(callbacks=).
import math

import numpy as np
from keras import backend as K
from keras.callbacks import Callback
from keras.layers import Dense
from keras.models import Sequential
from keras.optimizers import SGD


class WarmUpStepDecay(Callback):
    """Linear warm-up for the first epochs, then halve the rate every `step` epochs."""

    def __init__(self, base_lr=0.05, warmup_epochs=2, step=3):
        super(WarmUpStepDecay, self).__init__()
        self.base_lr = base_lr
        self.warmup_epochs = warmup_epochs
        self.step = step

    def on_epoch_begin(self, epoch, logs=None):
        if epoch < self.warmup_epochs:
            lr = self.base_lr * (epoch + 1) / self.warmup_epochs
        else:
            lr = self.base_lr * math.pow(0.5, (epoch - self.warmup_epochs) // self.step)
        K.set_value(self.model.optimizer.lr, lr)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        logs['lr'] = K.get_value(self.model.optimizer.lr)


class LRFinder(Callback):
    """Grows the learning rate exponentially each batch and records the loss."""

    def __init__(self, min_lr=1e-5, max_lr=1.0, steps=50):
        super(LRFinder, self).__init__()
        self.min_lr, self.max_lr, self.steps = min_lr, max_lr, steps
        self.iteration = 0
        self.history = {'lr': [], 'loss': []}

    def on_train_begin(self, logs=None):
        K.set_value(self.model.optimizer.lr, self.min_lr)

    def on_batch_end(self, batch, logs=None):
        self.iteration += 1
        self.history['lr'].append(K.get_value(self.model.optimizer.lr))
        self.history['loss'].append((logs or {}).get('loss'))
        new_lr = self.min_lr * (self.max_lr / self.min_lr) ** (self.iteration / float(self.steps))
        K.set_value(self.model.optimizer.lr, new_lr)


model = Sequential()
model.add(Dense(32, activation='relu', input_dim=10))
model.add(Dense(1))
model.compile(optimizer=SGD(lr=0.01, momentum=0.9, decay=1e-6), loss='mse')
print('initial learning rate:', K.eval(model.optimizer.lr))

if __name__ == '__main__':
    x = np.random.random((320, 10))
    y = x.sum(axis=1, keepdims=True)
    model.fit(x, y, epochs=4, batch_size=32, callbacks=[WarmUpStepDecay()], verbose=2)
    finder = LRFinder(steps=10)
    model.fit(x, y, epochs=1, batch_size=32, callbacks=[finder], verbose=0)
    print('final learning rate:', K.get_value(model.optimizer.lr))
