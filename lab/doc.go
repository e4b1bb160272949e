// Package lab builds the godwit lab (`godwit lab up|down|status`): a small
// bare-metal cluster in network namespaces on one Linux machine, running
// the main job (cluster routing) on an embedded default configuration.
//
//	                 PREFIX-tor: FRR, AS 65100
//	     bridge rack-a 10.0.1.1/24          bridge rack-b 10.0.2.1/24
//	        /                \                        |
//	PREFIX-node1          PREFIX-node2            PREFIX-node3
//	10.0.1.11 AS 65001    10.0.1.12 AS 65002      10.0.2.13 AS 65003
//	godwitd               godwitd, web on lo      godwitd, web on lo
//	bridge "pods" (the first address of the node's pod block)
//	   /         \
//	PREFIX-node1-pod1  PREFIX-node1-pod2          (two pods on every node)
//
// Every node's godwitd reads the same cluster configuration
// (cluster.yaml, DefaultConfig) with --node NAME: it finds its Node, peers
// with the router of its rack (a BGPPeer with a nodeSelector), announces
// its pod block (allocated in a shared --cluster-state file) and the
// LoadBalancer addresses it serves, and installs what it learns into its
// namespace's kernel. The router sees the LoadBalancer from two nodes and
// installs one ECMP route.
//
// # Layer
//
// lab is test and demonstration infrastructure at the top of DESIGN.md's
// table (below the programs only): it imports api, cluster, config and
// internal/netns and internal/routers; nothing but cmd/godwit and tests
// import it.
//
// # What it owns
//
//   - plan.go: the topology worked out from the configuration (Nodes,
//     BGPPeers, IPPools and LoadBalancers), with the cluster package's
//     own topology and allocator, so that the lab and its godwitds agree.
//   - build.go: namespaces, veths, bridges, addresses; starting FRR and
//     the godwitds (detached: they outlive `godwit lab up`).
//   - check.go: sessions from both ends, the router's routes at FRR and
//     in its kernel, each node's kernel routes, pings.
//   - up.go, down.go, status.go: the three commands; report.go the text
//     for people.
//   - state.go: the record in the state directory (lab.json) of every
//     namespace and process, written as they are made, which Down and
//     Status read. Down signals a recorded PID only after /proc confirms
//     it is still the same process, and finds unrecorded daemons (Up
//     killed half way) by name: the lab's namespaces and the state
//     directory on their command line. Nothing outside the lab's own
//     namespaces is ever addressed.
//
// # Where to start
//
// Up in up.go, then planFor in plan.go. The acceptance test (lab_test.go)
// runs the whole lab under its own prefix, stops a node and watches the
// router withdraw it.
package lab
