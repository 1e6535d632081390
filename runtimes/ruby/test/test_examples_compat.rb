# frozen_string_literal: true

# The original Kubeless Ruby examples (runtimes/ruby/examples-compat) run
# unchanged. hellowithdeps needs the `logging` gem: a stand-in of that name is
# built and installed locally, as the catalog's bundle install would.

require 'minitest/autorun'
require 'open3'
require_relative 'frames'

class ExamplesCompatTest < Minitest::Test
  include WorkerTestHelper

  EXAMPLES = File.expand_path('../examples-compat', __dir__)

  STAND_IN = <<~RUBY
    require 'logger'

    # Test stand-in for the logging gem: Logging.logger(io) as the example uses it.
    module Logging
      def self.logger(io)
        ::Logger.new(io)
      end
    end
  RUBY

  GEMSPEC = <<~RUBY
    Gem::Specification.new do |s|
      s.name = 'logging'
      s.version = '0.0.1'
      s.summary = 'Kubeless test stand-in for the logging gem'
      s.authors = ['kubeless tests']
      s.files = ['lib/logging.rb']
      s.license = 'Apache-2.0'
    end
  RUBY

  def test_helloget
    f = ready(volume: EXAMPLES, mod: 'helloget', handler: 'foo').call
    assert_equal [200, 'hello world'], [f.status, f.body]
  end

  def test_hellowithdata
    w = ready(volume: EXAMPLES, mod: 'hellowithdata', handler: 'handler')
    f = w.call(1, method: 'POST', body: '{"it-s": "alive"}', json: true)
    assert_equal '{"it-s":"alive"}', f.body
    assert_includes w.stdout, '"it-s"=>"alive"'
    assert_includes w.stdout, ':"event-id"=>"id-1"'
  end

  def test_hellowithdeps_through_gem_home
    dir = volume({})
    gem_home = install_stand_in(dir)
    FileUtils.cp(%w[hellowithdeps.rb Gemfile].map { |f| File.join(EXAMPLES, f) }, dir)
    w = ready(volume: dir, mod: 'hellowithdeps', handler: 'foo', env: { 'GEM_HOME' => gem_home })
    assert_equal 'hello world', w.call.body
    assert_match(/INFO -- : it works!/, w.stdout)
  end

  # A volume with Gemfile.lock: Bundler.setup pins the locked versions.
  def test_hellowithdeps_with_a_lock_file
    dir = volume({})
    gem_home = install_stand_in(dir)
    FileUtils.cp(%w[hellowithdeps.rb Gemfile].map { |f| File.join(EXAMPLES, f) }, dir)
    run!({ 'GEM_HOME' => gem_home, 'BUNDLE_GEMFILE' => File.join(dir, 'Gemfile') }, 'bundle', 'lock', '--local', dir)
    w = ready(volume: dir, mod: 'hellowithdeps', handler: 'foo', env: { 'GEM_HOME' => gem_home })
    assert_equal 'hello world', w.call.body
    refute_includes w.stderr, 'Bundler.setup skipped'
  end

  # Without GEM_HOME, a bundle installed into the volume
  # (bundle install --path=$KUBELESS_INSTALL_VOLUME) is found.
  def test_hellowithdeps_finds_the_bundle_in_the_volume
    dir = volume({})
    install_stand_in(dir, File.join(dir, 'ruby', RbConfig::CONFIG['ruby_version']))
    FileUtils.cp(File.join(EXAMPLES, 'hellowithdeps.rb'), dir)
    w = ready(volume: dir, mod: 'hellowithdeps', handler: 'foo', env: { 'GEM_HOME' => nil, 'GEM_PATH' => nil })
    assert_equal 'hello world', w.call.body
  end

  private

  # Builds the stand-in gem under dir/src and installs it into gem_home.
  def install_stand_in(dir, gem_home = File.join(dir, 'gems'))
    src = File.join(dir, 'src')
    FileUtils.mkdir_p(File.join(src, 'lib'))
    File.write(File.join(src, 'lib', 'logging.rb'), STAND_IN)
    File.write(File.join(src, 'logging.gemspec'), GEMSPEC)
    run!({}, 'gem', 'build', 'logging.gemspec', chdir: src)
    run!({}, 'gem', 'install', '--local', '--no-document', '--install-dir', gem_home,
         File.join(src, 'logging-0.0.1.gem'))
    gem_home
  end

  def run!(env, *cmd, chdir: nil)
    cmd = cmd.take(3) + ['--gemfile', File.join(cmd.last, 'Gemfile')] if cmd[0] == 'bundle'
    opts = chdir ? { chdir: chdir } : {}
    out, status = Open3.capture2e(env, *cmd, **opts)
    assert status.success?, "#{cmd.join(' ')} failed:\n#{out}"
  end
end
