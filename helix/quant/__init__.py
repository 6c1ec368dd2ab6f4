"""Quant library: pure, vectorised numpy functions (liquidation prices, the LHM-1 heatmap,
clusters, wicks, spikes, sizing), each tested against the worked vectors of ``quant.md``."""
