"""The nodal officer's dashboard: figures, lists, exports, reports, snapshots, actions."""
