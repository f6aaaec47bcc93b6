"""Learning-rate schedules: pure functions of the epoch (counted from 0) and the initial rate ``lr``.

Each returns the learning rate to use during ``epoch``; at epoch 0 every schedule returns ``lr``.
"""

import numpy as np


def inverse_time_decay(epoch, lr, decay_rate):
    """lr / (1 + decay_rate * epoch)."""
    ### BEGIN SOLUTION
    return lr / (1.0 + decay_rate * epoch)
    ### END SOLUTION


def step_decay(epoch, lr, step_size, gamma=0.1):
    """lr * gamma^floor(epoch / step_size): multiplied by gamma every step_size epochs."""
    ### BEGIN SOLUTION
    return lr * gamma ** (epoch // step_size)
    ### END SOLUTION


def exponential_decay(epoch, lr, gamma):
    """lr * gamma^epoch."""
    ### BEGIN SOLUTION
    return lr * gamma ** epoch
    ### END SOLUTION


def inverse_sqrt_decay(epoch, lr):
    """lr / sqrt(epoch + 1): the rate 1 / sqrt(t) with t = epoch + 1 counted from 1."""
    ### BEGIN SOLUTION
    return lr / np.sqrt(epoch + 1.0)
    ### END SOLUTION
