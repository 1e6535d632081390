x = 1
def oops(:
    pass
