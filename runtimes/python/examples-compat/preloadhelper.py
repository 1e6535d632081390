import os
import time


def load_model():
    print('loading ml_model_1')
    time.sleep(float(os.environ.get('PRELOAD_SECONDS', '2')))
    return {'a': 'hello'}


ml_model_1 = load_model()
