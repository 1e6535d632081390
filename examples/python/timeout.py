# Timeout example (handler timeout.forever): never returns. Deployed with
# --timeout 3, a call answers 408 after 3 seconds (`Request timeout
# exceeded`) and the runtime replaces the busy worker.
def forever(event, context):
    while True:
        pass
