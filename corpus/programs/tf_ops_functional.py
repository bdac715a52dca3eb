# Style: tf.keras 2.x tutorials and Stack Overflow answers (2019-2022) that mix TensorFlow ops into
# Functional model construction. Exercises: tf.squeeze, tf.expand_dims, tf.concat, tf.nn.relu,
# tf.reduce_mean, tf.reduce_max, tf.math.l2_normalize and arithmetic on Keras tensors (auto-wrapped
# into TFOpLambda layers by tf.keras 2.x; refused on KerasTensors by Keras 3).
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

num_rows, num_cols, num_classes = 28, 28, 10

inputs = keras.Input(shape=(num_rows, num_cols, 1), name='image')
rows = tf.squeeze(inputs, axis=-1)
row_features = layers.LSTM(32, return_sequences=True)(rows)
col_features = layers.LSTM(32, return_sequences=True)(tf.transpose(rows, perm=[0, 2, 1]))

both = tf.concat([row_features, col_features], axis=-1)
pooled_mean = tf.reduce_mean(both, axis=1)
pooled_max = tf.reduce_max(both, axis=1)
pooled = tf.concat([pooled_mean, pooled_max], -1)

hidden = layers.Dense(64)(pooled)
hidden = tf.nn.relu(hidden)
hidden = tf.math.l2_normalize(hidden, axis=-1) * 4.0
logits = layers.Dense(num_classes)(hidden)
probabilities = tf.nn.softmax(logits)

model = keras.Model(inputs=inputs, outputs=probabilities, name='row_col_lstm')

# a second model: a conv branch whose channel axis is added with tf.expand_dims
flat_inputs = keras.Input(shape=(num_rows * num_cols,), name='flat_image')
image = tf.reshape(flat_inputs, [-1, num_rows, num_cols])
image = tf.expand_dims(image, axis=-1)
conv = layers.Conv2D(8, 3, activation='relu')(image)
conv = layers.GlobalAveragePooling2D()(conv)
conv_model = keras.Model(flat_inputs, layers.Dense(num_classes, activation='softmax')(conv))

for m in (model, conv_model):
    m.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])

if __name__ == '__main__':
    x = np.random.random((64, num_rows, num_cols, 1)).astype('float32')
    y = np.random.randint(0, num_classes, size=(64,))
    model.fit(x, y, batch_size=16, epochs=1, verbose=2)
    conv_model.fit(x.reshape(64, -1), y, batch_size=16, epochs=1, verbose=2)
