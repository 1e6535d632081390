# GET example (handler helloget.foo): `kubeless function call get-ruby`
# answers "hello world".
def foo(event, context)
  "hello world"
end
