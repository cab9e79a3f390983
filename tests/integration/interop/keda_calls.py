"""KEDA's side of the external scaler protocol, from KEDA's own proto, with Python's grpcio.

Usage: keda_calls.py PROTO_DIR OUT_DIR ADDRESS CALLS
Generates the stubs from PROTO_DIR/externalscaler.proto into OUT_DIR, then makes each call of
CALLS (a JSON list of {"call": "IsActive" | "GetMetricSpec" | "GetMetrics", "metadata": {...}})
against the scaler at ADDRESS with a ScaledObjectRef carrying that metadata, and prints one JSON
line per call: {"result": ...} (IsActive), {"specs": [...]}, {"values": [...]}, or {"code": NAME}
when the call fails.
"""
import json
import sys

from grpc_tools import protoc

proto_dir, out_dir, address, calls = sys.argv[1:5]
if protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={out_dir}",
                f"--grpc_python_out={out_dir}", "externalscaler.proto"]) != 0:
    sys.exit("protoc failed on KEDA's externalscaler.proto")
sys.path.insert(0, out_dir)

import grpc  # noqa: E402
import externalscaler_pb2 as pb  # noqa: E402
import externalscaler_pb2_grpc as pbg  # noqa: E402

channel = grpc.insecure_channel(address)
grpc.channel_ready_future(channel).result(timeout=10)
stub = pbg.ExternalScalerStub(channel)

for c in json.loads(calls):
    ref = pb.ScaledObjectRef(name="web", namespace="shop", scalerMetadata=c["metadata"])
    try:
        if c["call"] == "IsActive":
            out = {"result": stub.IsActive(ref, timeout=5).result}
        elif c["call"] == "GetMetricSpec":
            specs = stub.GetMetricSpec(ref, timeout=5).metricSpecs
            out = {"specs": [[s.metricName, s.targetSize, s.targetSizeFloat] for s in specs]}
        elif c["call"] == "GetMetrics":
            name = c.get("metricName", "")
            req = pb.GetMetricsRequest(scaledObjectRef=ref, metricName=name)
            values = stub.GetMetrics(req, timeout=5).metricValues
            out = {"values": [[v.metricName, v.metricValue, v.metricValueFloat] for v in values]}
        else:
            sys.exit(f"unknown call {c['call']!r}")
    except grpc.RpcError as e:
        out = {"code": e.code().name}
    print(json.dumps(out), flush=True)
