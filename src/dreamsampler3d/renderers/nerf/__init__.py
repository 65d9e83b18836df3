"""Volume rendering for NeRF generators: cameras, rays, and compositing (nerfacc where it runs)."""
