print("virtual-card: not built yet")
