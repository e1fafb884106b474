//! NUMA-aware placement: the machine's [`NumaTopology`] and a [`NumaCounter`] whose cells are
//! grouped per node.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::cells::Cells;
use crate::cpu;
use crate::metric::{Kind, Metric, Value};
use crate::sync::thread_index;

/// The NUMA nodes of a machine and the CPUs of each, as Linux lists them under
/// `/sys/devices/system/node/node<N>/cpulist`.
///
/// Nodes without CPUs (memory-only nodes, CXL memory) are left out: no thread runs there.
///
/// ```
/// use prism_core::NumaTopology;
///
/// let topology = NumaTopology::system();
/// assert!(topology.nodes() >= 1);
/// let one = NumaTopology::single_node(4);
/// assert_eq!(one.node_of(3), Some(0));
/// assert_eq!(one.cpus_of(0), Some(&[0, 1, 2, 3][..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumaTopology {
    /// Ascending by node id.
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    id: usize,
    /// Ascending, never empty.
    cpus: Vec<usize>,
}

impl NumaTopology {
    /// Reads the topology from a sysfs tree mounted at `root` (`/sys` on a live machine):
    /// every `devices/system/node/node<N>/cpulist`. Taking the root lets a test feed it a
    /// simulated tree.
    ///
    /// Fails when the node folder cannot be read (a kernel built without NUMA has none),
    /// when a `cpulist` is not a CPU list or names a CPU already in another node, or when
    /// no node has a CPU.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let root = std::env::temp_dir().join(format!("prism-doc-numa-{}", std::process::id()));
    /// for (node, cpus) in [("node0", "0-1\n"), ("node1", "2-3\n")] {
    ///     let dir = root.join("devices/system/node").join(node);
    ///     std::fs::create_dir_all(&dir)?;
    ///     std::fs::write(dir.join("cpulist"), cpus)?;
    /// }
    /// let topology = prism_core::NumaTopology::from_sysfs(&root)?;
    /// assert_eq!(topology.nodes(), 2);
    /// assert_eq!(topology.node_of(2), Some(1));
    /// std::fs::remove_dir_all(&root)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_sysfs(root: impl AsRef<Path>) -> io::Result<Self> {
        let dir = root.as_ref().join("devices/system/node");
        let mut nodes = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_prefix("node"))
                .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|digits| digits.parse::<usize>().ok())
            else {
                continue; // `online`, `possible`, `has_cpu`, `power`, ...
            };
            let path = entry.path().join("cpulist");
            let list = std::fs::read_to_string(&path)?;
            let cpus = cpu::parse_list(&list).ok_or_else(|| {
                invalid(format!(
                    "{} is not a CPU list below {}: {:?}",
                    path.display(),
                    cpu::MAX_CPUS,
                    list.trim()
                ))
            })?;
            if !cpus.is_empty() {
                nodes.push(Node { id, cpus });
            }
        }
        nodes.sort_by_key(|node| node.id);
        let topology = Self { nodes };
        if topology.nodes.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no NUMA node with a CPU under {}", dir.display()),
            ));
        }
        let mut owner = vec![None; topology.max_cpu() + 1];
        for node in &topology.nodes {
            for &cpu in &node.cpus {
                if let Some(other) = owner[cpu].replace(node.id) {
                    return Err(invalid(format!(
                        "CPU {cpu} is listed in both node{other} and node{} under {}",
                        node.id,
                        dir.display()
                    )));
                }
            }
        }
        Ok(topology)
    }

    /// One node holding CPUs `0..cpus`, `cpus` kept between 1 and 8192 (the most CPU ids
    /// prism reads): the topology of a machine without NUMA.
    pub fn single_node(cpus: usize) -> Self {
        Self {
            nodes: vec![Node {
                id: 0,
                cpus: (0..cpus.clamp(1, cpu::MAX_CPUS)).collect(),
            }],
        }
    }

    /// This machine's topology, read once from `/sys`; a single node with every online
    /// CPU where that cannot be read (not Linux, no NUMA in the kernel, a container without
    /// sysfs).
    pub fn system() -> &'static NumaTopology {
        static SYSTEM: OnceLock<NumaTopology> = OnceLock::new();
        SYSTEM.get_or_init(|| {
            Self::from_sysfs("/sys").unwrap_or_else(|_| Self::single_node(cpu::count()))
        })
    }

    /// How many nodes have CPUs.
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The ids of the nodes, ascending (not always `0..nodes()`: ids can have gaps).
    pub fn node_ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.nodes.iter().map(|node| node.id)
    }

    /// The CPUs of node `node`, ascending; `None` for a node that does not exist or has no
    /// CPU.
    pub fn cpus_of(&self, node: usize) -> Option<&[usize]> {
        self.nodes
            .iter()
            .find(|n| n.id == node)
            .map(|n| n.cpus.as_slice())
    }

    /// The node CPU `cpu` belongs to.
    pub fn node_of(&self, cpu: usize) -> Option<usize> {
        self.nodes
            .iter()
            .find(|n| n.cpus.binary_search(&cpu).is_ok())
            .map(|n| n.id)
    }

    fn max_cpu(&self) -> usize {
        self.nodes
            .iter()
            .filter_map(|n| n.cpus.last().copied())
            .max()
            .unwrap_or(0)
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Where each CPU's updates go, computed once per topology and shared by every counter made
/// from it (a family of NUMA counters builds it once).
#[derive(Debug)]
struct Layout {
    topology: NumaTopology,
    /// By CPU id: its node's group and its cell in that group.
    place: Box<[Option<(u32, u32)>]>,
    /// Cells per group, in node order.
    group_cells: Box<[usize]>,
}

impl Layout {
    fn new(topology: NumaTopology, cells_per_node: Option<usize>) -> Self {
        let mut place = vec![None; topology.max_cpu() + 1].into_boxed_slice();
        let mut group_cells = Vec::with_capacity(topology.nodes.len());
        for (group, node) in topology.nodes.iter().enumerate() {
            let cells = cells_per_node
                .unwrap_or(node.cpus.len())
                .clamp(1, node.cpus.len());
            for (rank, &cpu) in node.cpus.iter().enumerate() {
                // Both below MAX_CPUS (8192), so the casts are lossless.
                place[cpu] = Some((group as u32, (rank % cells) as u32));
            }
            group_cells.push(cells);
        }
        Self {
            topology,
            place,
            group_cells: group_cells.into_boxed_slice(),
        }
    }

    /// The layout of [`NumaTopology::system`] with a cell per CPU, built once.
    fn system() -> Arc<Layout> {
        static SYSTEM: OnceLock<Arc<Layout>> = OnceLock::new();
        Arc::clone(
            SYSTEM.get_or_init(|| Arc::new(Layout::new(NumaTopology::system().clone(), None))),
        )
    }
}

/// A `u64` counter whose cells are grouped by NUMA node: a thread adds to a cell of its own
/// node's group, chosen by the CPU it runs on, so that a node's CPUs only ever write their
/// node's cache lines and no update pulls a line across the interconnect.
///
/// By default each node's group has a cell per CPU of the node, so on a one-node machine
/// this is the [`PerCpuCounter`](crate::PerCpuCounter) with its cells in the same order.
/// [`with_cells_per_node`](NumaCounter::with_cells_per_node) trades contention for read cost:
/// with 1 cell per node the CPUs of a node share one line (contended only inside the node,
/// where a line moves at cache speed) and [`get`](NumaCounter::get) reads one line per node.
/// [`node_value`](NumaCounter::node_value) reads one node's share.
///
/// Every update is a `fetch_add`, so the count is exact whatever thread migrates where; a
/// CPU missing from the topology (brought online later) and platforms where the CPU cannot
/// be asked fall back to a thread-local index.
///
/// ```
/// use prism_core::{NumaCounter, NumaTopology};
///
/// let frames = NumaCounter::new(); // this machine's topology
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| (0..1000).for_each(|_| frames.inc()));
///     }
/// });
/// assert_eq!(frames.get(), 4000);
/// let per_node: u64 = NumaTopology::system()
///     .node_ids()
///     .map(|node| frames.node_value(node).unwrap())
///     .sum();
/// assert_eq!(per_node, 4000);
/// ```
///
/// # Size and alignment
///
/// Each node's group is its own allocation of `crossbeam_utils::CachePadded<AtomicU64>`
/// cells (128 bytes each on x86-64 and aarch64). prism does not bind those pages to their
/// node (that takes `mbind`, which it does not call): the allocator places them, and the
/// gain is in which CPUs write which lines, not in where the lines live in memory.
#[derive(Clone)]
pub struct NumaCounter {
    inner: Arc<Inner>,
}

struct Inner {
    layout: Arc<Layout>,
    groups: Box<[Cells]>,
}

impl NumaCounter {
    /// A counter at 0 on this machine's topology ([`NumaTopology::system`]), a cell per CPU.
    pub fn new() -> Self {
        Self::from_layout(Layout::system())
    }

    /// A counter at 0 on `topology`, a cell per CPU of each node.
    pub fn with_topology(topology: NumaTopology) -> Self {
        Self::from_layout(Arc::new(Layout::new(topology, None)))
    }

    /// A counter at 0 on `topology` with `cells` cells per node (at least 1, at most the
    /// node's CPU count); a node's CPUs share them in turn.
    pub fn with_cells_per_node(topology: NumaTopology, cells: usize) -> Self {
        Self::from_layout(Arc::new(Layout::new(topology, Some(cells))))
    }

    fn from_layout(layout: Arc<Layout>) -> Self {
        let groups = layout.group_cells.iter().map(|&n| Cells::new(n)).collect();
        Self {
            inner: Arc::new(Inner { layout, groups }),
        }
    }

    /// The topology the cells are grouped by.
    pub fn topology(&self) -> &NumaTopology {
        &self.inner.layout.topology
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` to a cell of the node this thread runs on.
    #[inline]
    pub fn add(&self, n: u64) {
        match cpu::current() {
            Some(cpu) => self.add_at(cpu, n),
            None => self.add_by_thread(n),
        }
    }

    /// Adds `n` as CPU `cpu` would.
    #[inline]
    fn add_at(&self, cpu: usize, n: u64) {
        match self.inner.layout.place.get(cpu) {
            Some(&Some((group, cell))) => self.inner.groups[group as usize].add(cell as usize, n),
            _ => self.add_by_thread(n),
        }
    }

    /// Where the CPU is unknown: spread threads over the groups, then over their cells.
    #[cold]
    fn add_by_thread(&self, n: u64) {
        let index = thread_index();
        let groups = &self.inner.groups;
        let group = &groups[index % groups.len()];
        group.add((index / groups.len()) % group.len(), n);
    }

    /// The count: every cell of every node, wrapping at 2^64; exact once updates stop.
    pub fn get(&self) -> u64 {
        self.inner
            .groups
            .iter()
            .fold(0u64, |sum, group| sum.wrapping_add(group.sum()))
    }

    /// What was added on node `node`'s CPUs (plus its share of updates made where the CPU
    /// could not be asked); `None` for a node the topology does not have.
    pub fn node_value(&self, node: usize) -> Option<u64> {
        let group = self.topology().nodes.iter().position(|n| n.id == node)?;
        Some(self.inner.groups[group].sum())
    }
}

impl Default for NumaCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for NumaCounter {
    const KIND: Kind = Kind::Counter;
    fn read(&self) -> Value {
        Value::Counter(self.get())
    }
}

impl fmt::Debug for NumaCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NumaCounter")
            .field("value", &self.get())
            .field("nodes", &self.topology().nodes())
            .field("cells", &self.inner.layout.group_cells)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A simulated `/sys` in a temp dir, removed on drop.
    struct FakeSys(PathBuf);

    impl FakeSys {
        fn new(name: &str, nodes: &[(&str, &str)]) -> Self {
            let root = std::env::temp_dir().join(format!(
                "prism-numa-{name}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&root);
            let node_dir = root.join("devices/system/node");
            std::fs::create_dir_all(&node_dir).unwrap();
            // The files real sysfs keeps beside the node folders, which must be skipped.
            for file in ["online", "possible", "has_cpu", "has_memory"] {
                std::fs::write(node_dir.join(file), "0-1\n").unwrap();
            }
            std::fs::create_dir_all(node_dir.join("power")).unwrap();
            for (node, cpulist) in nodes {
                let dir = node_dir.join(node);
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("cpulist"), cpulist).unwrap();
            }
            Self(root)
        }
    }

    impl Drop for FakeSys {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn two_nodes() -> FakeSys {
        FakeSys::new(
            "two",
            &[
                ("node1", "2-3\n"),
                ("node0", "0-1\n"),
                ("node2", "\n"), // memory only
            ],
        )
    }

    #[test]
    fn reads_a_simulated_two_node_tree() {
        let sys = two_nodes();
        let t = NumaTopology::from_sysfs(&sys.0).unwrap();
        assert_eq!(t.nodes(), 2, "the memory-only node is left out");
        assert_eq!(t.node_ids().collect::<Vec<_>>(), [0, 1]);
        assert_eq!(t.cpus_of(0), Some(&[0, 1][..]));
        assert_eq!(t.cpus_of(1), Some(&[2, 3][..]));
        assert_eq!(t.cpus_of(2), None);
        assert_eq!(
            (0..5).map(|c| t.node_of(c)).collect::<Vec<_>>(),
            [Some(0), Some(0), Some(1), Some(1), None]
        );
    }

    #[test]
    fn sparse_node_ids_and_interleaved_cpus_are_kept() {
        let sys = FakeSys::new("sparse", &[("node0", "0,2\n"), ("node4", "1,3-4\n")]);
        let t = NumaTopology::from_sysfs(&sys.0).unwrap();
        assert_eq!(t.node_ids().collect::<Vec<_>>(), [0, 4]);
        assert_eq!(t.node_of(3), Some(4));
        let c = NumaCounter::with_topology(t);
        c.add_at(3, 10);
        c.add_at(2, 1);
        assert_eq!(c.node_value(4), Some(10));
        assert_eq!(c.node_value(0), Some(1));
        assert_eq!(c.node_value(1), None);
    }

    #[test]
    fn broken_trees_are_refused_with_the_reason() {
        let missing = std::env::temp_dir().join("prism-numa-does-not-exist");
        assert_eq!(
            NumaTopology::from_sysfs(&missing).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        let empty = FakeSys::new("empty", &[("node0", "\n")]);
        let err = NumaTopology::from_sysfs(&empty.0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("no NUMA node with a CPU"), "{err}");
        let garbage = FakeSys::new("garbage", &[("node0", "zero-one\n")]);
        let err = NumaTopology::from_sysfs(&garbage.0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("zero-one"), "{err}");
        let twice = FakeSys::new("twice", &[("node0", "0-1\n"), ("node1", "1-2\n")]);
        let err = NumaTopology::from_sysfs(&twice.0).unwrap_err();
        assert!(err.to_string().contains("CPU 1 is listed in both"), "{err}");
    }

    #[test]
    fn threads_add_to_their_own_nodes_group() {
        let sys = two_nodes();
        let c = NumaCounter::with_topology(NumaTopology::from_sysfs(&sys.0).unwrap());
        c.add_at(0, 1);
        c.add_at(1, 2);
        c.add_at(2, 30);
        c.add_at(3, 40);
        assert_eq!(c.node_value(0), Some(3));
        assert_eq!(c.node_value(1), Some(70));
        assert_eq!(c.get(), 73);
        // Each CPU of a node has a cell of its own in that node's group.
        let cells: Vec<u64> = (0..2)
            .map(|i| {
                c.inner.groups[1]
                    .cell(i)
                    .load(crate::primitive::Ordering::Relaxed)
            })
            .collect();
        assert_eq!(cells, [30, 40]);
        // A CPU outside the topology still counts (by thread index).
        c.add_at(99, 100);
        assert_eq!(c.get(), 173);
        assert_eq!(c.read(), Value::Counter(173));
        assert_eq!(
            format!("{:?}", NumaCounter::with_topology(c.topology().clone())),
            "NumaCounter { value: 0, nodes: 2, cells: [2, 2] }"
        );
    }

    #[test]
    fn one_cell_per_node_shares_it_among_the_nodes_cpus() {
        let sys = two_nodes();
        let t = NumaTopology::from_sysfs(&sys.0).unwrap();
        let c = NumaCounter::with_cells_per_node(t.clone(), 1);
        for cpu in 0..4 {
            c.add_at(cpu, 1 << cpu);
        }
        assert_eq!((c.node_value(0), c.node_value(1)), (Some(3), Some(12)));
        assert_eq!(
            c.inner.groups.iter().map(Cells::len).collect::<Vec<_>>(),
            [1, 1]
        );
        let wide = NumaCounter::with_cells_per_node(t, 100);
        assert_eq!(
            wide.inner.layout.group_cells[..],
            [2, 2],
            "at most a cell per CPU"
        );
    }

    #[test]
    fn one_node_places_like_the_per_cpu_counter() {
        let c = NumaCounter::with_topology(NumaTopology::single_node(4));
        assert_eq!(c.inner.groups.len(), 1);
        assert_eq!(c.inner.groups[0].len(), 4);
        for cpu in 0..4 {
            assert_eq!(c.inner.layout.place[cpu], Some((0, cpu as u32)));
        }
        assert_eq!(NumaTopology::single_node(0).cpus_of(0), Some(&[0][..]));
    }

    #[test]
    fn the_system_topology_covers_the_running_cpu() {
        let t = NumaTopology::system();
        if let Some(cpu) = cpu::current() {
            assert!(t.node_of(cpu).is_some(), "CPU {cpu} in no node of {t:?}");
        }
        let c = NumaCounter::new();
        let d = NumaCounter::new();
        assert!(
            Arc::ptr_eq(&c.inner.layout, &d.inner.layout),
            "the layout is shared"
        );
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| (0..10_000).for_each(|_| c.inc()));
            }
        });
        assert_eq!(c.get(), 40_000);
    }
}
