# Timeout example (handler timeout.forever): never returns. Deployed with
# --timeout 3, a call answers 408 after 3 seconds (`Request timeout
# exceeded`).
def forever(event, context)
  while true do
    sleep(1)
  end
end
