//! The simulated platform: functions, their replicas, queues and counters, advanced by a
//! discrete-event loop in simulated time.
//!
//! Within one `advance_to` call events are processed in time order (replica ready,
//! request done, request arrival), so results do not depend on the tick length except for
//! when scale commands take effect (at the start of a tick).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use super::load::{Arrivals, Profile, Rng};
use super::stats::{Histogram, Sketch};

/// How one function behaves and what load it receives.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    pub name: String,
    /// Requests one replica serves at the same time.
    pub concurrency: u32,
    /// Seconds from a replica's creation until it serves.
    pub cold_start: f64,
    /// Mean service time of one request, seconds.
    pub service: f64,
    /// Service times are uniform in `service × [1 - jitter, 1 + jitter]`.
    pub jitter: f64,
    /// Requests that may wait for a free slot; arrivals beyond it are dropped.
    pub queue: usize,
    /// Ready replicas at time 0 (and the initial desired count).
    pub replicas: u32,
    /// Scale commands above this are clamped.
    pub max_replicas: u32,
    pub profile: Profile,
}

impl FunctionSpec {
    /// A function with the defaults the binary uses, receiving `profile`.
    pub fn new(name: &str, profile: Profile) -> FunctionSpec {
        FunctionSpec {
            name: name.to_string(),
            concurrency: 10,
            cold_start: 2.0,
            service: 0.1,
            jitter: 0.5,
            queue: 100,
            replicas: 1,
            max_replicas: 1000,
            profile,
        }
    }
}

#[derive(Debug, Clone)]
struct Replica {
    id: u64,
    ready_at: f64,
    ready: bool,
    busy: u32,
    /// Removed by a scale-down while serving: takes no new requests, goes when idle.
    draining: bool,
}

/// A request being served, ordered by end time (earliest first in the heap).
#[derive(Debug, Clone, Copy)]
struct Done {
    end: f64,
    replica: u64,
    arrival: f64,
    /// When a replica took it up.
    start: f64,
}

impl PartialEq for Done {
    fn eq(&self, o: &Done) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Done {}
impl PartialOrd for Done {
    fn partial_cmp(&self, o: &Done) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Done {
    fn cmp(&self, o: &Done) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        o.end
            .total_cmp(&self.end)
            .then(o.replica.cmp(&self.replica))
    }
}

/// Counters of one function, as `/metrics` and the summary read them.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Requests that arrived (served, queued or dropped).
    pub invocations: u64,
    pub dropped: u64,
    pub completed: u64,
    /// Scale commands applied.
    pub scale_commands: u64,
    /// Integral of all replicas (starting, ready, draining) over time: the cost.
    pub replica_seconds: f64,
    /// Time with a non-empty queue, or within a tick that dropped requests.
    pub under_provisioned_seconds: f64,
    /// Arrival to response (queueing included).
    pub duration: Histogram,
    /// Service alone: from a replica taking the request up to the response.
    pub service: Histogram,
    pub latency: Sketch,
}

/// Replica counts of one function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReplicaCounts {
    pub desired: u32,
    pub ready: u32,
    pub starting: u32,
    pub draining: u32,
}

/// One function on the platform.
#[derive(Debug, Clone)]
pub struct Function {
    pub spec: FunctionSpec,
    arrivals: Arrivals,
    service_rng: Rng,
    replicas: Vec<Replica>,
    next_id: u64,
    in_flight: BinaryHeap<Done>,
    queue: VecDeque<f64>,
    desired: u32,
    /// The newest decision id applied (scale commands with an id not above it are ignored).
    pub last_decision: Option<u64>,
    now: f64,
    pub counters: Counters,
}

impl Function {
    /// A function at time 0 with `spec.replicas` ready replicas.
    pub fn new(spec: FunctionSpec, compress: f64, seed: u64) -> Function {
        let mut f = Function {
            arrivals: Arrivals::new(spec.profile.clone(), compress, seed),
            service_rng: Rng::new(seed ^ 0x5EED_5E41_11CE_0000),
            replicas: Vec::new(),
            next_id: 0,
            in_flight: BinaryHeap::new(),
            queue: VecDeque::new(),
            desired: 0,
            last_decision: None,
            now: 0.0,
            counters: Counters::default(),
            spec,
        };
        for _ in 0..f.spec.replicas.min(f.spec.max_replicas) {
            f.add_replica(0.0);
        }
        f.desired = f.replicas.len() as u32;
        f
    }

    pub fn now(&self) -> f64 {
        self.now
    }

    /// The load profile's rate now, requests per second.
    pub fn rate(&self) -> f64 {
        self.arrivals.rate_at(self.now)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub fn replica_counts(&self) -> ReplicaCounts {
        let mut c = ReplicaCounts {
            desired: self.desired,
            ready: 0,
            starting: 0,
            draining: 0,
        };
        for r in &self.replicas {
            if r.draining {
                c.draining += 1;
            } else if r.ready {
                c.ready += 1;
            } else {
                c.starting += 1;
            }
        }
        c
    }

    fn add_replica(&mut self, ready_at: f64) {
        self.replicas.push(Replica {
            id: self.next_id,
            ready_at,
            ready: ready_at <= self.now,
            busy: 0,
            draining: false,
        });
        self.next_id += 1;
    }

    /// Sets the desired replica count now (clamped to `max_replicas`). Scaling up adds
    /// starting replicas that serve after the cold start; scaling down removes starting
    /// replicas first (newest first), then idle ready ones, then the least busy, which drain:
    /// they take no new requests and go when their last request ends.
    pub fn set_desired(&mut self, desired: u32) {
        let desired = desired.min(self.spec.max_replicas);
        self.desired = desired;
        self.counters.scale_commands += 1;
        let live = self.replicas.iter().filter(|r| !r.draining).count() as u32;
        if desired > live {
            let ready_at = self.now + self.spec.cold_start;
            for _ in live..desired {
                self.add_replica(ready_at);
            }
            return;
        }
        for _ in desired..live {
            let victim = self
                .replicas
                .iter()
                .enumerate()
                .filter(|(_, r)| !r.draining)
                // Key: starting before ready, then idle before busy; newest first.
                .min_by_key(|(_, r)| (r.ready, r.busy, std::cmp::Reverse(r.id)))
                .map(|(i, _)| i);
            let Some(i) = victim else { break };
            if self.replicas[i].busy == 0 {
                self.replicas.remove(i);
            } else {
                self.replicas[i].draining = true;
            }
        }
    }

    /// Runs the simulation up to simulated time `to` (seconds).
    pub fn advance_to(&mut self, to: f64) {
        let start = self.now;
        let dropped_before = self.counters.dropped;
        let mut queued_time = 0.0;
        loop {
            let t_ready = self
                .replicas
                .iter()
                .filter(|r| !r.ready)
                .map(|r| r.ready_at)
                .fold(f64::INFINITY, f64::min);
            let t_done = self.in_flight.peek().map_or(f64::INFINITY, |d| d.end);
            let t_arrival = self.arrivals.peek();
            let t = t_ready.min(t_done).min(t_arrival);
            if t >= to {
                break;
            }
            let t = t.max(self.now);
            self.integrate(t, &mut queued_time);
            if t_ready <= t {
                for r in self.replicas.iter_mut().filter(|r| !r.ready) {
                    if r.ready_at <= t {
                        r.ready = true;
                    }
                }
                self.dispatch_queue();
            } else if t_done <= t {
                let d = self.in_flight.pop().expect("peeked");
                self.finish(d);
                self.dispatch_queue();
            } else if self.arrivals.pop() {
                self.counters.invocations += 1;
                if !self.start_request(t) {
                    if self.queue.len() < self.spec.queue {
                        self.queue.push_back(t);
                    } else {
                        self.counters.dropped += 1;
                    }
                }
            }
        }
        self.integrate(to.max(self.now), &mut queued_time);
        let step = self.now - start;
        self.counters.under_provisioned_seconds += if self.counters.dropped > dropped_before {
            step
        } else {
            queued_time
        };
    }

    /// Moves the clock to `t`, adding replica-seconds and queued time.
    fn integrate(&mut self, t: f64, queued_time: &mut f64) {
        let dt = t - self.now;
        if dt > 0.0 {
            self.counters.replica_seconds += dt * self.replicas.len() as f64;
            if !self.queue.is_empty() {
                *queued_time += dt;
            }
        }
        self.now = t;
    }

    fn finish(&mut self, d: Done) {
        let latency = d.end - d.arrival;
        self.counters.completed += 1;
        self.counters.duration.observe(latency);
        self.counters.service.observe(d.end - d.start);
        self.counters.latency.observe(latency);
        if let Some(i) = self.replicas.iter().position(|r| r.id == d.replica) {
            let r = &mut self.replicas[i];
            r.busy -= 1;
            if r.draining && r.busy == 0 {
                self.replicas.remove(i);
            }
        }
    }

    fn dispatch_queue(&mut self) {
        while let Some(&arrival) = self.queue.front() {
            if !self.start_request(arrival) {
                break;
            }
            self.queue.pop_front();
        }
    }

    /// Starts a request that arrived at `arrival` on the least busy ready replica with a
    /// free slot, now; false if none has one.
    fn start_request(&mut self, arrival: f64) -> bool {
        let limit = self.spec.concurrency;
        let Some(r) = self
            .replicas
            .iter_mut()
            .filter(|r| r.ready && !r.draining && r.busy < limit)
            .min_by_key(|r| (r.busy, r.id))
        else {
            return false;
        };
        r.busy += 1;
        let id = r.id;
        let u = self.service_rng.unit();
        let service = (self.spec.service * (1.0 + self.spec.jitter * (2.0 * u - 1.0))).max(0.0);
        self.in_flight.push(Done {
            end: self.now + service,
            replica: id,
            arrival,
            start: self.now,
        });
        true
    }
}

/// Why a scale command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleError {
    UnknownFunction(String),
}

impl std::fmt::Display for ScaleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScaleError::UnknownFunction(name) => write!(f, "unknown function {name:?}"),
        }
    }
}

impl std::error::Error for ScaleError {}

/// A scale command: what the HTTP API takes now and a gRPC `ScalingTarget` front will map
/// its `SetReplicas` onto.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct ScaleCommand {
    pub function: String,
    pub replicas: u32,
    /// Vane's decision id; a command whose id is not above the last applied one for the
    /// function is ignored (retries are idempotent).
    #[serde(default)]
    pub decision_id: Option<u64>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The answer to a scale command or a replica query.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReplicaStatus {
    pub function: String,
    #[serde(flatten)]
    pub counts: ReplicaCounts,
    /// False when the command was a repeated or stale decision id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<bool>,
}

/// All functions, advanced together.
#[derive(Debug, Clone)]
pub struct Platform {
    functions: Vec<Function>,
    now: f64,
}

impl Platform {
    /// Function `i` gets the seed `seed + i` (so adding a function does not change the
    /// others' load).
    pub fn new(specs: Vec<FunctionSpec>, compress: f64, seed: u64) -> Platform {
        let functions = specs
            .into_iter()
            .enumerate()
            .map(|(i, s)| Function::new(s, compress, seed.wrapping_add(i as u64)))
            .collect();
        Platform {
            functions,
            now: 0.0,
        }
    }

    pub fn now(&self) -> f64 {
        self.now
    }

    pub fn functions(&self) -> &[Function] {
        &self.functions
    }

    pub fn advance_to(&mut self, to: f64) {
        for f in &mut self.functions {
            f.advance_to(to);
        }
        self.now = self.now.max(to);
    }

    fn function_mut(&mut self, name: &str) -> Result<&mut Function, ScaleError> {
        self.functions
            .iter_mut()
            .find(|f| f.spec.name == name)
            .ok_or_else(|| ScaleError::UnknownFunction(name.to_string()))
    }

    /// Applies a scale command (the scaling input).
    pub fn scale(&mut self, cmd: &ScaleCommand) -> Result<ReplicaStatus, ScaleError> {
        let f = self.function_mut(&cmd.function)?;
        let stale =
            matches!((cmd.decision_id, f.last_decision), (Some(id), Some(last)) if id <= last);
        let applied = !stale;
        if applied {
            if cmd.decision_id.is_some() {
                f.last_decision = cmd.decision_id;
            }
            f.set_desired(cmd.replicas);
        }
        Ok(ReplicaStatus {
            function: cmd.function.clone(),
            counts: f.replica_counts(),
            applied: Some(applied),
        })
    }

    /// Replica counts of every function (or of one).
    pub fn replicas(&self, function: Option<&str>) -> Result<Vec<ReplicaStatus>, ScaleError> {
        let out: Vec<ReplicaStatus> = self
            .functions
            .iter()
            .filter(|f| function.is_none_or(|n| f.spec.name == n))
            .map(|f| ReplicaStatus {
                function: f.spec.name.clone(),
                counts: f.replica_counts(),
                applied: None,
            })
            .collect();
        match function {
            Some(n) if out.is_empty() => Err(ScaleError::UnknownFunction(n.to_string())),
            _ => Ok(out),
        }
    }
}
