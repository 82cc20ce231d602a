"""What people read: replies to units, the daily report, the expert workbook and the exports."""
