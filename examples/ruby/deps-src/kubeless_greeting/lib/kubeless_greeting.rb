# Greeting used by the Kubeless dependency examples.
module KubelessGreeting
  VERSION = "1.0.0"

  def self.greet(name = "world")
    "hello #{name} from kubeless-greeting #{VERSION}"
  end
end
