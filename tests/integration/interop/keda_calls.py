"""KEDA's side of the external scaler protocol, from KEDA's own proto, with Python's grpcio.

Usage: keda_calls.py PROTO_DIR OUT_DIR ADDRESS CALLS
Generates the stubs from PROTO_DIR/externalscaler.proto into OUT_DIR, then makes each call of
CALLS (a JSON list of {"call": "IsActive" | "GetMetricSpec" | "GetMetrics", "metadata": {...}})
against the scaler at ADDRESS with a ScaledObjectRef carrying that metadata, and prints one JSON
line per call: {"result": ...} (IsActive), {"specs": [...]}, {"values": [...]}, or {"code": NAME}
when the call fails.

TLS, as KEDA's `caCert`, `tlsClientCert` and `tlsClientKey` give it, from the environment:
KEDA_CA (PEM file of the CA to trust; set: TLS), KEDA_SERVER_NAME (the name to check the
server's certificate against), KEDA_CERT and KEDA_KEY (a client certificate and key).
KEDA_READY_TIMEOUT: seconds to wait for a connection (default 10).
"""
import json
import os
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

def read(var):
    path = os.environ.get(var)
    return open(path, "rb").read() if path else None


if os.environ.get("KEDA_CA"):
    creds = grpc.ssl_channel_credentials(read("KEDA_CA"), read("KEDA_KEY"), read("KEDA_CERT"))
    name = os.environ.get("KEDA_SERVER_NAME")
    options = [("grpc.ssl_target_name_override", name)] if name else []
    channel = grpc.secure_channel(address, creds, options=options)
else:
    channel = grpc.insecure_channel(address)
try:
    grpc.channel_ready_future(channel).result(
        timeout=float(os.environ.get("KEDA_READY_TIMEOUT", "10")))
except grpc.FutureTimeoutError:
    # No connection (a refused handshake): every call fails as KEDA would see it.
    for _ in json.loads(calls):
        print(json.dumps({"code": "UNAVAILABLE"}), flush=True)
    sys.exit(0)
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
