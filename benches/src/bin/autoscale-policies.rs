//! Compares the autoscaler's policies, an HPA-like and a KPA-like configuration on the step,
//! spike and diurnal profiles of the function simulator, in simulated time: replica-seconds
//! and time under-provisioned per run. Prints a Markdown table and writes the results as
//! JSON. See BENCHMARKS.md, "Autoscaling policies".

use clap::Parser;
use vane_benches::policies;

#[derive(Debug, Parser)]
#[command(
    name = "autoscale-policies",
    about = "Autoscaling policies compared on the function simulator"
)]
struct Args {
    /// Seed of the arrivals and service times.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the results as JSON.
    #[arg(long, default_value = "benches/results/autoscale-policies.json")]
    json: std::path::PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let outcomes = policies::run_all(args.seed);
    print!("{}", policies::markdown(&outcomes));
    println!();
    for c in policies::configs() {
        println!("- `{}` (every {}s): {}", c.name, c.interval, c.about);
    }
    let json = serde_json::json!({
        "seed": args.seed,
        "tick_seconds": policies::TICK,
        "scrape_seconds": policies::SCRAPE,
        "configurations": policies::configs().iter().map(|c| serde_json::json!({
            "name": c.name,
            "about": c.about,
            "interval_seconds": c.interval,
            "policy": c.yaml,
        })).collect::<Vec<_>>(),
        "outcomes": outcomes,
    });
    if let Some(dir) = args.json.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.json, serde_json::to_vec_pretty(&json)?)?;
    eprintln!("wrote {}", args.json.display());
    Ok(())
}
