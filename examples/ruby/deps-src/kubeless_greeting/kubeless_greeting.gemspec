# A tiny gem for the dependency example, published nowhere:
# `make -C examples ruby-deps-src` builds it with `gem build` into the local
# gem source ruby/deps-src/repo that the Gemfile names.
Gem::Specification.new do |s|
  s.name = "kubeless_greeting"
  s.version = "1.0.0"
  s.summary = "Greeting used by the Kubeless dependency examples"
  s.authors = ["Kubeless"]
  s.license = "Apache-2.0"
  s.files = ["lib/kubeless_greeting.rb"]
  s.required_ruby_version = ">= 2.7"
end
