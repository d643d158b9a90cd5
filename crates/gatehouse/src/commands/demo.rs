//! `gatehouse demo`: the reference system on one machine. Starts the development identity
//! provider, the inventory (gRPC), order and user services, and the gateway in front of them with
//! `config/demo.yaml`; prints what to try; stops everything on SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use gatehouse_config::Config;
use gatehouse_devidp::{BANNER, Minter, SigningKey, demo_users, issuer_for};
use gatehouse_proxy::Gateway;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::{logging, signals};

/// The demo configuration, compiled in so the README's command works from any directory.
const DEMO_CONFIG: &str = include_str!("../../../../config/demo.yaml");
/// The provider in the demo configuration that the embedded identity provider stands for.
const DEV_PROVIDER: &str = "dev";
/// How long the services get to finish after the gateway has drained.
const SERVICE_GRACE: Duration = Duration::from_secs(5);
/// How long the guide waits for the gateway to have the provider's keys before printing anyway.
const READY_WAIT: Duration = Duration::from_secs(10);

/// Arguments of `gatehouse demo`; every address may be `127.0.0.1:0` for a free port.
#[derive(clap::Args)]
pub struct Args {
    /// Gateway configuration; defaults to the built-in copy of `config/demo.yaml`.
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// Directory for the identity provider's signing key and the order database.
    #[arg(long, env = "GATEHOUSE_DEMO_DIR", default_value_os_t = default_data_dir())]
    data_dir: PathBuf,
    /// Gateway listener (default: the configuration's `listen.address`).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Gateway admin listener (default: the configuration's `admin.address`).
    #[arg(long)]
    admin: Option<SocketAddr>,
    /// Development identity provider.
    #[arg(long, default_value = "127.0.0.1:8090")]
    idp: SocketAddr,
    /// Order service (HTTP).
    #[arg(long, default_value = order_service::DEFAULT_ADDR)]
    order: SocketAddr,
    /// User service (HTTP).
    #[arg(long, default_value = user_service::DEFAULT_ADDR)]
    user: SocketAddr,
    /// Inventory service (gRPC).
    #[arg(long, default_value = inventory_service::DEFAULT_ADDR)]
    inventory: SocketAddr,
}

/// Where the signing key and the database live unless told otherwise; shared with
/// `gatehouse token`, so its tokens verify against a running demo.
pub fn default_data_dir() -> PathBuf {
    std::env::temp_dir().join("gatehouse-demo")
}

/// The listeners of the demo's parts, bound before anything starts so that port 0 works and the
/// gateway configuration can name the ports actually taken.
struct Listeners {
    idp: TcpListener,
    inventory: TcpListener,
    order: TcpListener,
    user: TcpListener,
}

impl Listeners {
    async fn bind(args: &Args) -> anyhow::Result<Self> {
        let bind = |addr: SocketAddr, what: &'static str| async move {
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} for the {what}"))
        };
        Ok(Listeners {
            idp: bind(args.idp, "identity provider").await?,
            inventory: bind(args.inventory, "inventory service").await?,
            order: bind(args.order, "order service").await?,
            user: bind(args.user, "user service").await?,
        })
    }
}

/// The addresses actually taken.
struct Addresses {
    idp: SocketAddr,
    inventory: SocketAddr,
    order: SocketAddr,
    user: SocketAddr,
}

/// Runs the demo until a signal; returns after everything stopped.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => gatehouse_config::load(path),
        None => gatehouse_config::parse(DEMO_CONFIG),
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let _logs = logging::init(&config.logging)?;
    let key = SigningKey::load_or_generate(&args.data_dir)
        .context("cannot set up the identity provider's signing key")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listeners = Listeners::bind(args).await?;
        let addresses = Addresses {
            idp: listeners.idp.local_addr()?,
            inventory: listeners.inventory.local_addr()?,
            order: listeners.order.local_addr()?,
            user: listeners.user.local_addr()?,
        };
        point_config_at(&mut config, args, &addresses)?;
        let minter = Minter::new(key, issuer_for(addresses.idp));

        let (stop, stopped) = watch::channel(false);
        let mut parts = start_parts(listeners, &addresses, minter.clone(), args, &stopped);

        let gateway = Arc::new(
            Gateway::new(config, Registry::default(), Vec::new())
                .context("cannot set up the gateway")?,
        );
        let bound = gateway.bind().await.context("cannot bind the gateway")?;
        let guide = guide(&minter, bound.local_addr()?, &addresses, args)?;
        info!(listen = %bound.local_addr()?, admin = %bound.admin_addr()?, "listening");
        let announcer = tokio::spawn(announce_when_ready(gateway.clone(), guide));

        // The edge stops first, so no request reaches a service that is already gone.
        gateway.run(bound, signals::terminate()).await;
        announcer.abort();
        let _ = stop.send(true);
        let finished = tokio::time::timeout(SERVICE_GRACE, async {
            while let Some(result) = parts.join_next().await {
                if let Ok(Err(error)) = result {
                    warn!(%error, "a demo service stopped with an error");
                }
            }
        })
        .await;
        if finished.is_err() {
            warn!("services did not stop in time; leaving them");
        }
        info!("demo stopped");
        Ok(())
    })
}

/// Makes the configuration name the ports actually taken: the provider's issuer and the
/// upstreams' endpoints (both a no-op with the default ports).
fn point_config_at(config: &mut Config, args: &Args, at: &Addresses) -> anyhow::Result<()> {
    if let Some(listen) = args.listen {
        config.listener.address = listen;
    }
    if let Some(admin) = args.admin {
        config.admin.address = admin;
    }
    let provider = config
        .providers
        .iter_mut()
        .find(|p| p.name == DEV_PROVIDER)
        .with_context(|| {
            format!("the demo configuration needs a provider named {DEV_PROVIDER:?}")
        })?;
    provider.issuer = issuer_for(at.idp);
    for (name, addr) in [("order", at.order), ("user", at.user)] {
        let upstream = config
            .upstreams
            .iter_mut()
            .find(|u| u.name == name)
            .with_context(|| format!("the demo configuration needs an upstream named {name:?}"))?;
        upstream.endpoints = vec![addr.to_string().parse()?];
    }
    Ok(())
}

type Part = Result<(), String>;

fn start_parts(
    listeners: Listeners,
    at: &Addresses,
    minter: Minter,
    args: &Args,
    stopped: &watch::Receiver<bool>,
) -> JoinSet<Part> {
    let until_stopped = || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let mut parts = JoinSet::new();
    let idp = gatehouse_devidp::serve(listeners.idp, minter, until_stopped());
    parts.spawn(async move { idp.await.map_err(|e| format!("identity provider: {e}")) });
    let inventory = inventory_service::serve(listeners.inventory, until_stopped());
    parts.spawn(async move { inventory.await.map_err(|e| format!("inventory: {e}")) });
    let order = order_service::serve(
        listeners.order,
        args.data_dir.join("orders.sqlite"),
        format!("http://{}", at.inventory),
        until_stopped(),
    );
    parts.spawn(async move { order.await.map_err(|e| format!("order service: {e}")) });
    let user = user_service::serve(listeners.user, until_stopped());
    parts.spawn(async move { user.await.map_err(|e| format!("user service: {e}")) });
    parts
}

/// Prints `guide` once the gateway is ready (it has fetched the provider's keys), so the first
/// curl a reader pastes is not a 503.
async fn announce_when_ready(gateway: Arc<Gateway>, guide: String) {
    let until = tokio::time::Instant::now() + READY_WAIT;
    while !gateway.is_ready() && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if !gateway.is_ready() {
        warn!(
            "the gateway has no keys from the identity provider yet; requests get 503 until then"
        );
    }
    println!("{guide}");
}

/// What to try: addresses, tokens as `export` lines, and curl lines.
fn guide(
    minter: &Minter,
    gateway: SocketAddr,
    at: &Addresses,
    args: &Args,
) -> anyhow::Result<String> {
    let mut exports = String::new();
    for user in demo_users() {
        let token = minter.mint(user)?;
        let name = user.name.to_uppercase();
        exports.push_str(&format!(
            "export {name}='{token}'   # {}\n",
            user.description
        ));
    }
    let hours = minter.lifetime().as_secs() / 3600;
    Ok(format!(
        "\n{BANNER}\n\n\
         gatehouse demo is running (Ctrl-C stops everything):\n\
         \x20 gateway           http://{gateway}\n\
         \x20 identity provider {issuer}\n\
         \x20 order service     http://{order}   (private: needs identity context)\n\
         \x20 user service      http://{user}   (private)\n\
         \x20 inventory (gRPC)  {inventory}   (private)\n\
         \x20 data              {data}\n\n\
         Paste these into a shell (tokens valid {hours}h; `gatehouse token --user NAME` mints more):\n\
         export GATEWAY=http://{gateway}\n\
         export ORDER_SERVICE=http://{order}\n\
         {exports}\n\
         Then try (docs/walkthrough.md explains each):\n\
         \x20 curl -i -X POST $GATEWAY/api/orders -H \"authorization: Bearer $ALICE\" -H 'content-type: application/json' -d '{{\"item\":\"tea\",\"quantity\":2}}'   # 201\n\
         \x20 curl -i $GATEWAY/api/orders -H \"authorization: Bearer $ALICE\"                                  # alice's orders\n\
         \x20 curl -i -X POST $GATEWAY/api/orders -H \"authorization: Bearer $BOB\" -H 'content-type: application/json' -d '{{\"item\":\"tea\",\"quantity\":1}}'     # 403\n\
         \x20 curl -i -X POST $GATEWAY/api/orders -H 'content-type: application/json' -d '{{\"item\":\"tea\",\"quantity\":1}}'                                   # 401\n\
         \x20 curl -i $GATEWAY/api/orders -H \"authorization: Bearer $BOB\" -H 'x-user-id: carol' -H 'x-user-roles: admin'   # still only bob's\n\
         \x20 curl -i $GATEWAY/api/orders -H \"authorization: Bearer $CAROL\"                                  # admin: all orders\n\
         \x20 curl -i $GATEWAY/api/users/me -H \"authorization: Bearer $ALICE\"\n\
         \x20 curl -i $ORDER_SERVICE/orders                                                                  # 401: no context\n",
        issuer = minter.issuer(),
        order = at.order,
        user = at.user,
        inventory = at.inventory,
        data = args.data_dir.display(),
    ))
}
