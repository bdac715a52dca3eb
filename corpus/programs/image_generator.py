# Style: the Keras 2 blog post "Building powerful image classification models using very little
# data" (cats vs dogs from class folders). Exercises: ImageDataGenerator(rescale=...) with
# augmentation and flow_from_directory, K.image_data_format() to choose input_shape, fit_generator
# and evaluate_generator with steps, array_to_img to write the sample images.
import os
import tempfile

import numpy as np
from keras import backend as K
from keras.layers import Activation, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from keras.models import Sequential
from keras.preprocessing.image import ImageDataGenerator, array_to_img

img_width, img_height = 32, 32
batch_size = 4


def write_sample_images(root, per_class=8):
    """A tiny two-class data set of random images, laid out as flow_from_directory expects."""
    for split in ('train', 'validation'):
        for label in ('cats', 'dogs'):
            folder = os.path.join(root, split, label)
            os.makedirs(folder)
            for i in range(per_class):
                pixels = np.random.randint(0, 256, size=(img_height, img_width, 3)).astype('uint8')
                array_to_img(pixels).save(os.path.join(folder, '%s_%d.png' % (label, i)))


if K.image_data_format() == 'channels_first':
    input_shape = (3, img_width, img_height)
else:
    input_shape = (img_width, img_height, 3)

model = Sequential()
model.add(Conv2D(16, (3, 3), input_shape=input_shape))
model.add(Activation('relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Conv2D(16, (3, 3)))
model.add(Activation('relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Flatten())
model.add(Dense(32))
model.add(Activation('relu'))
model.add(Dropout(0.5))
model.add(Dense(1))
model.add(Activation('sigmoid'))
model.compile(loss='binary_crossentropy', optimizer='rmsprop', metrics=['accuracy'])

if __name__ == '__main__':
    data_dir = tempfile.mkdtemp()
    write_sample_images(data_dir)
    train_datagen = ImageDataGenerator(rescale=1. / 255, shear_range=0.2, zoom_range=0.2, horizontal_flip=True)
    test_datagen = ImageDataGenerator(rescale=1. / 255)
    train_generator = train_datagen.flow_from_directory(
        os.path.join(data_dir, 'train'), target_size=(img_width, img_height),
        batch_size=batch_size, class_mode='binary')
    validation_generator = test_datagen.flow_from_directory(
        os.path.join(data_dir, 'validation'), target_size=(img_width, img_height),
        batch_size=batch_size, class_mode='binary')
    model.fit_generator(train_generator, steps_per_epoch=16 // batch_size, epochs=1,
                        validation_data=validation_generator, validation_steps=16 // batch_size)
    print(model.evaluate_generator(validation_generator, steps=4))
