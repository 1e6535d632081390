# frozen_string_literal: true

# Test helper: plays the Go host's part of docs/worker-protocol.md. Starts
# kubeless.rb with fd 3 (frames to the worker) and fd 4 (frames from it).

require 'json'
require 'rbconfig'
require 'fileutils'
require 'tmpdir'

KUBELESS_RB = File.expand_path('../kubeless.rb', __dir__)
REPO_ROOT = File.expand_path('../../..', __dir__)
FIXTURES = File.join(REPO_ROOT, 'internal/conformance/fixtures/ruby')

Frame = Struct.new(:type, :id, :payload) do
  def head
    JSON.parse(payload.byteslice(4, payload.unpack1('N')))
  end

  def body
    hlen = payload.unpack1('N')
    payload.byteslice(4 + hlen, payload.bytesize - 4 - hlen)
  end

  def status
    head['status']
  end

  def headers
    head['headers']
  end

  def header(name)
    pair = headers.find { |k, _| k.casecmp?(name) }
    pair && pair[1]
  end
end

class WorkerProcess
  attr_reader :pid, :dir

  # Starts a worker; env values override the defaults below.
  # `command` is a prefix run before `ruby kubeless.rb` (e.g. a shell).
  def initialize(volume: FIXTURES, mod: 'fixtures', handler: 'hello', env: {}, command: [])
    @dir = Dir.mktmpdir('kubeless-rb-test')
    @to_worker_r, @to_worker = IO.pipe
    @from_worker, @from_worker_w = IO.pipe
    [@to_worker, @from_worker].each(&:binmode)
    base = {
      'MOD_NAME' => mod, 'FUNC_HANDLER' => handler, 'KUBELESS_INSTALL_VOLUME' => volume,
      'FUNC_TIMEOUT' => '180', 'KUBELESS_WORKER_CONCURRENCY' => '1', 'KUBELESS_WORKER_ID' => '1'
    }
    @pid = Process.spawn(base.merge(env), *command, RbConfig.ruby, KUBELESS_RB,
                         3 => @to_worker_r, 4 => @from_worker_w, in: File::NULL,
                         out: stdout_path, err: stderr_path)
    @to_worker_r.close
    @from_worker_w.close
    @buffered = []
  end

  def stdout_path
    File.join(@dir, 'stdout')
  end

  def stderr_path
    File.join(@dir, 'stderr')
  end

  def stdout
    File.read(stdout_path)
  end

  def stderr
    File.read(stderr_path)
  end

  # The next frame, or nil at end of file; fails after `timeout` seconds.
  def read_frame(timeout: 10)
    header = read_exactly(9, timeout)
    return nil unless header

    type, id, len = header.unpack('aNN')
    Frame.new(type, id, len.zero? ? ''.b : read_exactly(len, timeout))
  end

  # The first R or F frame.
  def ready(timeout: 15)
    read_frame(timeout: timeout)
  end

  def send_frame(type, id, payload = ''.b)
    @to_worker.write([type, id, payload.bytesize].pack('aNN'), payload)
    @to_worker.flush
  end

  # Sends an I frame. `body` is sent as is; json: true declares it JSON.
  def invoke(id, body: '', method: 'GET', path: '/', query: '', headers: [], json: false, event: {})
    head = {
      'method' => method, 'path' => path, 'query' => query, 'headers' => headers,
      'remote' => '127.0.0.1:40000', 'json' => json,
      'event' => {
        'event-id' => "id-#{id}", 'event-type' => json ? 'application/json' : 'text/plain',
        'event-time' => '2026-01-02T03:04:05Z', 'event-namespace' => ''
      }.merge(event)
    }
    head_json = JSON.generate(head)
    send_frame('I', id, [head_json.bytesize].pack('N') + head_json.b + body.b)
  end

  # The response frame(s) for invocation id: a Frame (S/X) or, for a streamed
  # response, [S, D..., E]. Frames of other ids read meanwhile are kept.
  def response(id, timeout: 10)
    frames = []
    loop do
      frame = take(id) || read_frame(timeout: timeout)
      raise "worker closed fd 4 while waiting for #{id}" unless frame

      if frame.id != id
        @buffered << frame
        next
      end
      frames << frame
      return frame if frames.size == 1 && (frame.type == 'X' || (frame.type == 'S' && !frame.head['stream']))
      return frames if frame.type == 'E'
    end
  end

  # Invokes and returns the response frame.
  def call(id = 1, **kwargs)
    invoke(id, **kwargs)
    response(id)
  end

  # Closes fd 3 and returns the exit status.
  def close(timeout: 10)
    @to_worker.close unless @to_worker.closed?
    wait(timeout: timeout)
  end

  def wait(timeout: 10)
    deadline = Time.now + timeout
    loop do
      _, status = Process.wait2(@pid, Process::WNOHANG)
      return status if status
      raise 'worker did not exit' if Time.now > deadline

      sleep 0.01
    end
  end

  def kill
    Process.kill('KILL', @pid)
    Process.wait(@pid)
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  ensure
    cleanup
  end

  def cleanup
    [@to_worker, @from_worker].each { |io| io.close unless io.closed? }
    FileUtils.remove_entry(@dir) if File.directory?(@dir)
  end

  private

  def take(id)
    index = @buffered.index { |f| f.id == id }
    index && @buffered.delete_at(index)
  end

  def read_exactly(n, timeout)
    buf = ''.b
    deadline = Time.now + timeout
    while buf.bytesize < n
      left = deadline - Time.now
      raise "timed out reading a frame from the worker; stderr: #{stderr}" if left <= 0
      next unless IO.select([@from_worker], nil, nil, left)

      chunk = @from_worker.read_nonblock(n - buf.bytesize, exception: false)
      return nil if chunk.nil?
      next if chunk == :wait_readable

      buf << chunk
    end
    buf
  end
end
