package web

// The finance and statistics areas in the staff navigation and on the
// start page.

var _ = addStaffNav(
	navEntry{Href: "/intern/kasse", TitleKey: "fin_title", TextKey: "fin_nav_text", Roles: financeRoles, Order: 30},
	navEntry{Href: "/intern/statistik", TitleKey: "stats_title", TextKey: "stats_nav_text", Roles: statsRoles, Order: 40},
)
