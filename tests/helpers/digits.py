"""Test helper (mxnet runtime, which has scikit-learn): scikit-learn's digits (8x8 images, the data ships in
the wheel) as DATA.npz for nets trained in other runtimes."""

import sys

import numpy as np
from sklearn.datasets import load_digits

digits = load_digits()
np.savez(sys.argv[1], images=digits.images.astype(np.float32), labels=digits.target.astype(np.int64))
