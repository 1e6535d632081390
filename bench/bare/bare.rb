# Reference: a bare Ruby TCPServer answering HTTP/1.1 keep-alive, a thread per connection.
require "socket"
server = if ENV["KUBELESS_LISTEN_FD"]
  TCPServer.for_fd(Integer(ENV["KUBELESS_LISTEN_FD"])) # the socket the bench bound and handed over
else
  TCPServer.new("127.0.0.1", Integer(ENV.fetch("FUNC_PORT")))
end
loop do
  Thread.new(server.accept) do |c|
    begin
      while (line = c.gets)
        method = line.split(" ", 2)[0]
        len = 0
        ct = "application/octet-stream"
        while (h = c.gets) && h != "\r\n"
          k, v = h.split(":", 2)
          len = v.to_i if k.casecmp?("content-length")
          ct = v.strip if k.casecmp?("content-type")
        end
        body = method == "POST" ? c.read(len) : "hello world"
        ct = "text/plain; charset=utf-8" unless method == "POST"
        c.write("HTTP/1.1 200 OK\r\nContent-Type: #{ct}\r\nContent-Length: #{body.bytesize}\r\n\r\n#{body}")
      end
    rescue StandardError
    ensure
      c.close
    end
  end
end
