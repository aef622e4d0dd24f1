"""Training of EPR-compressed models (MNIST classifiers); see :func:`nwcodec.train.classify.train_classifier`."""
