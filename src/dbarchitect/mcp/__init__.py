"""`dbarch mcp`: the architect's tools served to AI agents over the Model Context Protocol."""
