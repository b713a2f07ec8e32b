//! A deterministic simulator (virtual clock, scripted fake server and network).
