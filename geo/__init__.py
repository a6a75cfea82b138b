"""Geography: county packs, jurisdiction lookup, routing, cameras, hot spots and map exports."""
