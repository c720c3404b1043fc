"""Organisation tree (区 -> 镇/街道/区园, 部门/单位 -> 党支部) and the roster of people."""
