# Style: Keras 2 time-series tutorials with stateful LSTMs (machinelearningmastery-style, 2016-2018).
# Exercises: batch_input_shape= on the first layer of a Sequential, stateful=True, reset_states() in
# a manual epoch loop, shuffle=False, and a class count taken from the data (Dense(np.max(y) + 1)).
import numpy as np
from keras.layers import LSTM, Dense
from keras.models import Sequential
from keras.utils import to_categorical

batch_size = 8
timesteps = 10
features = 1

series = np.sin(np.linspace(0, 40, 8 * 50 + timesteps)).astype('float32')
X = np.array([series[i:i + timesteps] for i in range(8 * 50)]).reshape(-1, timesteps, features)
y = np.digitize(series[timesteps:timesteps + 8 * 50], bins=[-0.5, 0.0, 0.5])
num_classes = np.max(y) + 1

model = Sequential()
model.add(LSTM(32, batch_input_shape=(batch_size, timesteps, features), stateful=True, return_sequences=True))
model.add(LSTM(16, stateful=True))
model.add(Dense(np.max(y) + 1, activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])

# a regression head on the same series, built the same way
regressor = Sequential()
regressor.add(LSTM(16, batch_input_shape=(batch_size, timesteps, features), stateful=True))
regressor.add(Dense(1))
regressor.compile(loss='mean_squared_error', optimizer='adam')

if __name__ == '__main__':
    Y = to_categorical(y, num_classes)
    targets = series[timesteps:timesteps + 8 * 50].reshape(-1, 1)
    for epoch in range(2):
        model.fit(X, Y, epochs=1, batch_size=batch_size, verbose=2, shuffle=False)
        model.reset_states()
        regressor.fit(X, targets, epochs=1, batch_size=batch_size, verbose=2, shuffle=False)
        regressor.reset_states()
    print(model.predict(X[:batch_size], batch_size=batch_size).argmax(axis=-1))
