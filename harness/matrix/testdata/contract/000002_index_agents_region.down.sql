DROP INDEX agents_region_idx;
