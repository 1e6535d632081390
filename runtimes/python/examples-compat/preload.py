# Test copy of the original example: data placed in the module's globals is
# loaded once, when the function is loaded, and every invocation reuses it.
import os
import time

from preloadhelper import ml_model_1


def load_model():
    # Stands for loading a big model (the original slept 2 seconds).
    print('loading ml_model_2')
    time.sleep(float(os.environ.get('PRELOAD_SECONDS', '2')))
    return {'b': 'world'}


ml_model_2 = load_model()


def handler(event, context):
    return ml_model_1['a'] + ' ' + ml_model_2['b']
