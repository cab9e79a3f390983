"""A platform's ScalingTarget (Vane's hook protocol) in Python's grpcio.

Usage: scaling_target.py PROTO_DIR OUT_DIR
Generates the stubs from PROTO_DIR/vane/autoscaler/v1/target.proto into OUT_DIR, serves on
127.0.0.1 (a free port), prints `port N`, then one JSON line per SetReplicas it accepts.
Autoscaler names drive its answers: `flaky` UNAVAILABLE, `busy` RESOURCE_EXHAUSTED, `bad`
INVALID_ARGUMENT, `slow` answers after 3 s. Exits when stdin closes.
"""
import json
import sys
import threading
import time
from concurrent import futures

from grpc_tools import protoc

proto_dir, out_dir = sys.argv[1:3]
if protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={out_dir}",
                f"--grpc_python_out={out_dir}", "vane/autoscaler/v1/target.proto"]) != 0:
    sys.exit("protoc failed on vane/autoscaler/v1/target.proto")
sys.path.insert(0, out_dir)

import grpc  # noqa: E402
from vane.autoscaler.v1 import target_pb2 as pb  # noqa: E402
from vane.autoscaler.v1 import target_pb2_grpc as pbg  # noqa: E402


class Platform(pbg.ScalingTargetServicer):
    def __init__(self):
        self.replicas = {}
        self.seen = {}
        self.lock = threading.Lock()

    def SetReplicas(self, request, context):
        name = request.autoscaler
        if name == "flaky":
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        if name == "busy":
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota")
        if name == "bad":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no such function")
        if name == "slow":
            time.sleep(3)
        with self.lock:
            # Idempotent: an id seen before (or older) changes nothing.
            if request.decision_id <= self.seen.get(name, 0):
                return pb.SetReplicasResponse(current_replicas=self.replicas.get(name, 0))
            self.seen[name] = request.decision_id
            self.replicas[name] = request.desired_replicas
        print(json.dumps({
            "decision_id": request.decision_id,
            "autoscaler": name,
            "desired_replicas": request.desired_replicas,
            "reason": request.reason,
            "detail": request.detail,
            "signal": request.signal if request.HasField("signal") else None,
            "current_replicas": request.current_replicas
            if request.HasField("current_replicas") else None,
            "time_ms": request.time_ms,
            "active": request.active,
            "panic": request.panic,
            "deadline_set": context.time_remaining() is not None,
        }), flush=True)
        return pb.SetReplicasResponse(current_replicas=request.desired_replicas)

    def GetReplicas(self, request, context):
        with self.lock:
            if request.autoscaler in self.replicas:
                return pb.GetReplicasResponse(current_replicas=self.replicas[request.autoscaler])
        return pb.GetReplicasResponse()


server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
pbg.add_ScalingTargetServicer_to_server(Platform(), server)
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(f"port {port}", flush=True)
sys.stdin.read()
server.stop(0)
