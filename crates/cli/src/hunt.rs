//! (being built; see the open issue for this subcommand)

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<u8> {
    anyhow::bail!("this subcommand is not built yet")
}
