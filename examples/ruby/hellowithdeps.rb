# Dependency example (handler hellowithdeps.foo): the kubeless_greeting gem
# comes from the Gemfile, installed by Bundler when the function is built
# (here from the local gem source made by `make -C examples ruby-deps-src`).
require 'kubeless_greeting'

def foo(event, context)
  data = event[:data]
  name = data.is_a?(Hash) && data['name'] ? data['name'] : 'world'
  KubelessGreeting.greet(name)
end
