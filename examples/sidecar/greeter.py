# A Python service on jetmicro through the sidecar, with the standard library only.
import json, os, threading, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
SIDECAR = os.environ.get("SIDECAR", "http://127.0.0.1:8081/sidecar")

def post(path, body):  # one call to the sidecar API, JSON in and out
    req = urllib.request.Request(SIDECAR + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))

class Greeter(BaseHTTPRequestHandler):  # the sidecar POSTs each call to /{Endpoint}
    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply = json.dumps({"message": f"Hello {request['name']} from Python"}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers(); self.wfile.write(reply)

app = HTTPServer(("127.0.0.1", 0), Greeter)
threading.Thread(target=app.serve_forever, daemon=True).start()
post("/registry", {"name": "greeter-py", "url": f"http://127.0.0.1:{app.server_port}", "endpoints": ["Greeter.SayHello"]})
print(post("/rpc", {"service": "greeter-py", "endpoint": "Greeter.SayHello", "request": {"name": "Ada"}}), flush=True)
print(post("/events/greeting.sent", {"to": "Ada"}), flush=True)
threading.Event().wait()  # keep serving calls until Ctrl-C
